#!/usr/bin/env bash
# One batch-EM step on Fashion-MNIST (60,000 × 784), C = 100 and 400: ratesim (Eigen GEMM,
# OpenMP over the data) against numpy with Debian's BLAS, side by side in the same run.
#   bench/compare_em.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build"/bench/bench_em "$images" --benchmark_repetitions=5 --benchmark_format=json >"$json"
numpy=$(/usr/bin/python3 bench/em_numpy.py "$images" 5)
/usr/bin/python3 - "$json" "$numpy" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
ours = {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration":
        ours.setdefault(b["run_name"].split("/")[1], []).append(b["real_time"] / 1e3)
print(f"machine: {report['context'].get('num_cpus')} CPUs, {report['context'].get('date')}")
print(f"{'C':>5} {'ratesim [s]':>12} {'numpy [s]':>10} {'numpy / ratesim':>16}")
for line in sys.argv[2].splitlines():
    _, name, seconds, _ = line.split()
    C = name.split("/")[1]
    mine = statistics.median(ours[C])
    print(f"{C:>5} {mine:>12.3f} {float(seconds):>10.3f} {float(seconds) / mine:>16.2f}")
PY
