"""Medians and ratios from Google Benchmark JSON output.

    /usr/bin/python3 bench/report.py results.json [baseline-name]

Prints each benchmark's median real time and its ratio to the baseline (the first
benchmark unless named), plus any user counters (e.g. MB/s). Ratios, not seconds, are what
carry over between runs on these shared, noisy machines.
"""

import json
import statistics
import sys
from collections import OrderedDict


def medians(path):
    with open(path) as f:
        report = json.load(f)
    runs = OrderedDict()
    for b in report["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        runs.setdefault(b["run_name"], []).append(b)
    table = OrderedDict()
    for name, rs in runs.items():
        entry = {"real_time": statistics.median(r["real_time"] for r in rs), "unit": rs[0]["time_unit"]}
        for key in rs[0]:
            if key in ("MB/s", "items_per_second"):
                entry[key] = statistics.median(r[key] for r in rs)
        entry["repetitions"] = len(rs)
        table[name] = entry
    return report.get("context", {}), table


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    context, table = medians(argv[1])
    baseline = argv[2] if len(argv) > 2 else next(iter(table))
    base = table[baseline]["real_time"]
    print(f"machine: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs "
          f"@ {context.get('mhz_per_cpu', '?')} MHz; date {context.get('date', '?')}")
    print(f"{'benchmark':<32} {'median':>12} {'ratio':>7} {'MB/s':>9} {'reps':>5}")
    for name, e in table.items():
        mb = f"{e['MB/s']:.1f}" if "MB/s" in e else ""
        print(f"{name:<32} {e['real_time']:>9.3f} {e['unit']:<2} {e['real_time'] / base:>7.3f} "
              f"{mb:>9} {e['repetitions']:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
