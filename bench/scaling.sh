#!/usr/bin/env bash
# How the cost grows with N, C and D, and the speed-up from 1 to 2 threads (bench/scaling.cpp).
#   bench/scaling.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/bench/bench_scaling" --benchmark_repetitions=3 --benchmark_format=json >"$json"
/usr/bin/python3 - "$json" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
runs = {}
for b in report["benchmarks"]:
    if b.get("run_type") == "iteration":
        runs.setdefault(b["run_name"], []).append(b)
print(f"machine: {report['context'].get('num_cpus')} CPUs, {report['context'].get('date')}; medians of 3")
print(f"{'benchmark':<48} {'ms per item':>12} {'ns per unit':>12}")
seconds = {}
for name, bs in runs.items():
    per_item = statistics.median(1e3 / b["items_per_second"] for b in bs)
    unit = statistics.median(b["ns_per_unit"] for b in bs)
    seconds[name] = per_item
    print(f"{name.replace('/real_time', ''):<48} {per_item:>12.3f} {unit:>12.4f}")
one = [v for k, v in seconds.items() if k.startswith("em/") and k.endswith("threads:1/real_time")]
two = [v for k, v in seconds.items() if k.startswith("em/N:60000/C:100/stride:1/threads:2")]
if one and two:
    print(f"EM speed-up from 1 to 2 threads (N = 60000, C = 100, D = 784): {one[0] / two[0]:.2f}")
PY
