"""The model of data-parallel EM's time per iteration over P ranks (bench/RESULTS.md,
"EM over MPI"), with the constants measured on this machine, printed as a table of
predicted parallel efficiencies.

    T(P)    = T_c · ceil(G / P) / G  +  T_x(P)
    T_c     = 4 C D N / F                          (the two products, one rank, one thread)
    T_x(P)  = 2 ceil(log2 P) (a + 8 C D / b)       (the tree's cross-rank levels, each a
                                                    message and an addition, then the
                                                    broadcast of the total)
    E(P)    = T(1) / (P T(P))

G = ceil(N / 2048) groups: a rank holds whole groups, so beyond G ranks there is nothing
to share. F is the flop rate of one rank's products, a the latency of a message and b the
bandwidth of a message plus its addition (both from bench_exact_sum).

    /usr/bin/python3 bench/mpi_model.py F_GFLOPS A_US B_GBS [N ...]
"""
import math
import sys


def efficiency(P, C, N, F, a, b, D=784):
    G = math.ceil(N / 2048)
    Tc = 4 * C * D * N / F
    def T(p):
        levels = math.ceil(math.log2(p)) if p > 1 else 0
        return Tc * math.ceil(G / p) / G + 2 * levels * (a + 8 * C * D / b)
    return T(1) / (P * T(P))


def main():
    if len(sys.argv) < 4 or "--help" in sys.argv:
        print(__doc__)
        return
    F = float(sys.argv[1]) * 1e9
    a = float(sys.argv[2]) * 1e-6
    b = float(sys.argv[3]) * 1e9
    sizes = [int(float(n)) for n in sys.argv[4:]] or [60000]
    for N in sizes:
        print(f"N = {N:,}: F = {F / 1e9:g} GFLOP/s, a = {a * 1e6:g} us, b = {b / 1e9:g} GB/s")
        print("| C | 16 ranks | 64 ranks | 1,024 ranks |")
        print("| --- | --- | --- | --- |")
        for C in (100, 1000, 10000):
            cells = [f"{100 * efficiency(P, C, N, F, a, b):.0f}%" for P in (16, 64, 1024)]
            print(f"| {C:,} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
