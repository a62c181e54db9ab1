#!/usr/bin/env bash
# ratesim against numpy or Brian2 on the same work, side by side in the same run, on
# Fashion-MNIST:
#   bench/compare.sh em      one batch-EM step, 60,000 × 784, C = 100 and 400 (numpy), on the
#                            kernel chosen for this machine and on each kernel it has, and
#                            the machine's DGEMM peak for the fraction: the best of its kernels,
#                            and of OpenBLAS with each core type the CPU can run (Haswell,
#                            SkylakeX, Cooperlake; OPENBLAS_CORETYPE, one process each)
#   bench/compare.sh online  quasi-static learning, D = 784, C = 100, 400 and 1000 (numpy)
#   bench/compare.sh ode     the whole circuit, Euler steps, C = 100, D = 784 (Brian2)
#   bench/compare.sh spiking the spiking circuit (Poisson inputs, a stochastic WTA learning
#                            online), steps of 0.5 ms, C = 100, D = 784 (Brian2)
# Prints items per second (EM steps, presented patterns, steps, simulated ms) of both and
# their ratio.
#   bench/compare.sh KIND [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/compare.sh em|online|ode|spiking [build dir]}
build=${2:-build}
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
json=$(mktemp)
cores=$(mktemp -d)
trap 'rm -rf "$json" "$cores"' EXIT
"$build/bench/bench_$kind" "$images" --benchmark_repetitions=5 --benchmark_format=json >"$json"
if [ "$kind" = em ]; then  # OpenBLAS's kernels for each core type this CPU can run
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
  has avx2 fma && echo Haswell >"$cores/list"
  has avx512f avx512cd avx512bw avx512dq avx512vl && echo SkylakeX >>"$cores/list"
  has avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 && echo Cooperlake >>"$cores/list"
  for core in $(cat "$cores/list" 2>/dev/null); do
    OPENBLAS_CORETYPE=$core "$build/bench/bench_em" --benchmark_filter='gemm_peak/openblas' \
      --benchmark_repetitions=5 --benchmark_format=json >"$cores/$core.json"
  done
fi
peer=bench/${kind}_numpy.py
case $kind in ode | spiking) peer=bench/${kind}_brian2.py ;; esac
numpy=$(/usr/bin/python3 "$peer" "$images" 5 2>/dev/null)
/usr/bin/python3 - "$json" "$numpy" "$cores"/*.json <<'PY'
import json, os, statistics, sys
report = json.load(open(sys.argv[1]))
for path in sys.argv[3:]:  # OpenBLAS forced to a core type: "gemm_peak/openblas-SkylakeX/..."
    if not os.path.exists(path):
        continue
    core = os.path.basename(path)[:-len(".json")]
    for b in json.load(open(path))["benchmarks"]:
        b["run_name"] = b["run_name"].replace("/openblas/", f"/openblas-{core}/")
        report["benchmarks"].append(b)
def case(name):  # "em_step/float32/100/real_time" -> "float32/100"; the peaks keep "peak/"
    # A named flag argument: "exact_log:1" -> "exact_log", "exact_log:0" -> left out.
    parts = [p.split(":")[0] if ":" in p else p for p in name.split("/")
             if p and p != "real_time" and not p.endswith(":0")]
    return "/".join((["peak"] if parts[0] == "gemm_peak" else []) + parts[1:])

ours, gflops = {}, {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration" and not b.get("error_occurred"):
        ours.setdefault(case(b["run_name"]), []).append(b["items_per_second"])
        if "GFLOP/s" in b:
            gflops.setdefault(b["run_name"], []).append(b["GFLOP/s"])
context = report["context"]
print(f"machine: {context.get('num_cpus')} CPUs, {context.get('date')}; medians")
if "kernels" in context:  # the kernels this machine chose (bench_em)
    print(f"kernels: {context['kernels']}")
lines = sys.argv[2].splitlines()
peer = lines[0].split()[0]
print(f"{'case':>30} {'ratesim [1/s]':>14} {peer + ' [1/s]':>13} {'ratio':>7}")
theirs = {case(line.split()[1]): 1.0 / float(line.split()[2]) for line in lines}
for name, rates in sorted(ours.items()):
    mine = statistics.median(rates)
    if name in theirs:
        print(f"{name:>30} {mine:>14.2f} {theirs[name]:>13.2f} {mine / theirs[name]:>7.2f}")
    else:  # ratesim only (other steppers, float32, other kernels, the GEMM peaks)
        print(f"{name:>30} {mine:>14.4g}")
peaks = {case(k): statistics.median(v) for k, v in gflops.items() if k.startswith("gemm_peak")}
if peaks:  # EM: the products' rate against the best DGEMM peak measured in this run
    best = max(peaks, key=peaks.get)
    for name, v in sorted(gflops.items()):
        if not name.startswith("gemm_peak"):
            print(f"{case(name):>30} {statistics.median(v):>8.1f} GFLOP/s = "
                  f"{statistics.median(v) / peaks[best]:.0%} of the DGEMM peak")
    print("DGEMM peak: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(peaks.items()))
          + f" GFLOP/s; best {best}")
PY
