"""Checks the reproduction: for every C in OUT_DIR, the circuit ("online") must reach EM.

    /usr/bin/python3 scripts/check_reproduction.py OUT_DIR [max_loglik_gap] [max_error_gap]

Its final training log-likelihood must be within max_loglik_gap (default 0.002, i.e.
0.2%) of EM's, relative, and its test error within max_error_gap (default 0.02, 2
percentage points) of EM's. Exits 1 when any C misses.
"""

import glob
import os
import sys

import h5py


def main(out_dir, max_loglik_gap=0.002, max_error_gap=0.02):
    fits = {}
    for path in glob.glob(os.path.join(out_dir, "*.h5")):
        with h5py.File(path, "r") as f:
            if f.attrs.get("content") == "fit":
                fits.setdefault(int(f.attrs["C"]), {})[f.attrs["method"]] = dict(f.attrs)
    failed = checked = 0
    for C in sorted(fits):
        em, online = fits[C].get("em"), fits[C].get("online")
        if em is None or online is None:
            continue
        checked += 1
        gap = (em["loglik_train"] - online["loglik_train"]) / abs(em["loglik_train"])
        error_gap = online["error"] - em["error"]
        ok = gap <= max_loglik_gap and error_gap <= max_error_gap
        failed += not ok
        print(f"C = {C}: circuit vs EM: log-likelihood {100 * gap:.3f}% below (limit "
              f"{100 * max_loglik_gap:.1f}%), test error {100 * error_gap:+.2f} points (limit "
              f"{100 * max_error_gap:.0f}): {'ok' if ok else 'MISSED'}")
    if checked == 0:
        print(f"{out_dir}: no pair of em and online fits", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        sys.exit(0)
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], *(float(a) for a in sys.argv[2:])))
