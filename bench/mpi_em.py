"""EM on Fashion-MNIST (60,000 x 784) over MPI ranks and OpenMP threads: the wall-clock
time of each EM iteration, from the moment rank 0 reports it on stderr; minimum and
median over the iterations (the minimum is the least disturbed by other work on a
shared machine). bench/RESULTS.md, "EM over MPI".

    /usr/bin/python3 bench/mpi_em.py build/ratesim [C ...]
"""
import os
import statistics
import subprocess
import sys
import time

ITERATIONS = 15
DATA = ["--train-images", "data/fashion-mnist/train-images-idx3-ubyte.gz",
        "--train-labels", "data/fashion-mnist/train-labels-idx1-ubyte.gz"]
CONFIGS = [("1 rank x 1 thread", 1, 1), ("1 rank x 2 threads", 1, 2),
           ("2 ranks x 1 thread", 2, 1)]


def iteration_times(ratesim, C, ranks, threads):
    command = [ratesim, "fit", *DATA, "-C", str(C), "-A", "900", "--method", "em",
               "--iterations", str(ITERATIONS), "--tolerance", "0"]
    if ranks > 1:
        command = ["mpirun", "-np", str(ranks), "-x", f"OMP_NUM_THREADS={threads}"] + command
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env, bufsize=1)
    stamps = []
    for line in p.stderr:
        if line.startswith("iteration"):
            stamps.append(time.monotonic())
    p.wait()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return [b - a for a, b in zip(stamps, stamps[1:])]


def main():
    if len(sys.argv) < 2 or "--help" in sys.argv:
        print(__doc__)
        return
    ratesim = sys.argv[1]
    for C in [int(c) for c in sys.argv[2:]] or [100]:
        for name, ranks, threads in CONFIGS:
            t = iteration_times(ratesim, C, ranks, threads)
            with open("/proc/loadavg") as f:
                load = f.read().split()[0]
            print(f"C = {C}, {name}: per iteration min {min(t):.3f} s, median "
                  f"{statistics.median(t):.3f} s ({len(t)} iterations; load {load})", flush=True)


if __name__ == "__main__":
    main()
