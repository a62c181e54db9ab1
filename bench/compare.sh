#!/usr/bin/env bash
# ratesim against numpy or Brian2 on the same work, side by side in the same run, on
# Fashion-MNIST:
#   bench/compare.sh em      one batch-EM step, 60,000 × 784, C = 100 and 400 (numpy), and
#                            the machine's GEMM peak (Eigen, same sizes) for the fraction
#   bench/compare.sh online  quasi-static learning, D = 784, C = 100, 400 and 1000 (numpy)
#   bench/compare.sh ode     the whole circuit, Euler steps, C = 100, D = 784 (Brian2)
# Prints items per second (EM steps, presented patterns, steps) of both and their ratio.
#   bench/compare.sh KIND [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/compare.sh em|online|ode [build dir]}
build=${2:-build}
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/bench/bench_$kind" "$images" --benchmark_repetitions=5 --benchmark_format=json >"$json"
peer=bench/${kind}_numpy.py
[ "$kind" = ode ] && peer=bench/ode_brian2.py
numpy=$(/usr/bin/python3 "$peer" "$images" 5 2>/dev/null)
/usr/bin/python3 - "$json" "$numpy" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
def case(name):  # "em_step/float32/100/real_time" -> "float32/100"
    return "/".join(p for p in name.split("/")[1:] if p and p != "real_time")

ours, gflops = {}, {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration":
        ours.setdefault(case(b["run_name"]), []).append(b["items_per_second"])
        if "GFLOP/s" in b:
            gflops.setdefault(b["run_name"], []).append(b["GFLOP/s"])
print(f"machine: {report['context'].get('num_cpus')} CPUs, {report['context'].get('date')}; medians")
lines = sys.argv[2].splitlines()
peer = lines[0].split()[0]
print(f"{'case':>12} {'ratesim [1/s]':>14} {peer + ' [1/s]':>13} {'ratio':>7}")
theirs = {case(line.split()[1]): 1.0 / float(line.split()[2]) for line in lines}
for name, rates in sorted(ours.items()):
    mine = statistics.median(rates)
    if name in theirs:
        print(f"{name:>12} {mine:>14.2f} {theirs[name]:>13.2f} {mine / theirs[name]:>7.2f}")
    else:  # ratesim only (other steppers, float32, the GEMM peak)
        print(f"{name:>12} {mine:>14.4g}")
peaks = [statistics.median(v) for k, v in gflops.items() if k.startswith("gemm_peak")]
if peaks:  # EM: the matrix products' rate against the DGEMM peak measured in this run
    for name, v in sorted(gflops.items()):
        print(f"{case(name):>12} {statistics.median(v):>8.1f} GFLOP/s = "
              f"{statistics.median(v) / peaks[0]:.0%} of the DGEMM peak")
PY
