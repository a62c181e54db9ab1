#!/usr/bin/env bash
# ratesim against numpy on the same work, side by side in the same run, on Fashion-MNIST:
#   bench/compare.sh em      one batch-EM step, 60,000 × 784, C = 100 and 400
#   bench/compare.sh online  quasi-static learning, D = 784, C = 100, 400 and 1000
# Prints items per second (EM steps or presented patterns) of both and their ratio.
#   bench/compare.sh KIND [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/compare.sh em|online [build dir]}
build=${2:-build}
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/bench/bench_$kind" "$images" --benchmark_repetitions=5 --benchmark_format=json >"$json"
numpy=$(/usr/bin/python3 "bench/${kind}_numpy.py" "$images" 5)
/usr/bin/python3 - "$json" "$numpy" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
ours = {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration":
        ours.setdefault(b["run_name"].split("/")[1], []).append(b["items_per_second"])
print(f"machine: {report['context'].get('num_cpus')} CPUs, {report['context'].get('date')}; medians")
print(f"{'C':>5} {'ratesim [1/s]':>14} {'numpy [1/s]':>12} {'ratio':>7}")
for line in sys.argv[2].splitlines():
    _, name, seconds = line.split()[:3]
    C = name.split("/")[1]
    mine, theirs = statistics.median(ours[C]), 1.0 / float(seconds)
    print(f"{C:>5} {mine:>14.2f} {theirs:>12.2f} {mine / theirs:>7.2f}")
PY
