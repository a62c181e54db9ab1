#!/usr/bin/env bash
# Quasi-static online learning (Fashion-MNIST, D = 784, A = 900), C = 100, 400, 1000:
# ratesim against the same update in numpy, side by side in the same run.
#   bench/compare_online.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
images=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build"/bench/bench_online "$images" --benchmark_repetitions=5 --benchmark_format=json >"$json"
numpy=$(/usr/bin/python3 bench/online_numpy.py "$images" 5)
/usr/bin/python3 - "$json" "$numpy" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
ours = {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration":
        ours.setdefault(b["run_name"].split("/")[1], []).append(b["items_per_second"])
print(f"machine: {report['context'].get('num_cpus')} CPUs, {report['context'].get('date')}")
print(f"{'C':>5} {'ratesim [patterns/s]':>21} {'numpy [patterns/s]':>19} {'ratio':>7}")
for line in sys.argv[2].splitlines():
    _, name, seconds = line.split()
    C = name.split("/")[1]
    mine = statistics.median(ours[C])
    theirs = 1.0 / float(seconds)
    print(f"{C:>5} {mine:>21.0f} {theirs:>19.0f} {mine / theirs:>7.2f}")
PY
