"""Read the HDF5 traces that ratesim writes, with nothing but h5py and numpy.

    from ratesim import traces
    with traces.open_run("run.h5") as run:
        print(traces.names(run))                   # ['input/h', 'output/rate', 'ff/weights', ...]
        t, rates = traces.read(run, "output/rate")  # times [ms], samples [n, units]

Files are opened as SWMR readers, so a file that a simulation is still writing, or one
left by a run that was killed, opens too. Command line: python3 -m ratesim.traces FILE.
Layout: docs/hdf5-layout.md.
"""

import argparse
import sys

import h5py
import numpy as np

FORMAT = "ratesim"
FORMAT_VERSION = 1
ROOT_ATTRIBUTES = ("format", "format_version", "ratesim_version", "created", "seed", "config", "dt")


def open_run(path):
    """Opens a ratesim file read-only; works while it is being written and after a crash."""
    f = h5py.File(path, "r", swmr=True)
    if _text(f.attrs.get("format")) != FORMAT:
        f.close()
        raise ValueError(f"{path}: not a ratesim file (no format = 'ratesim' at /)")
    return f


def names(run):
    """Every recorded quantity: the groups that hold a `data` and a `time` dataset."""
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and "data" in obj and "time" in obj:
            found.append(name)

    run.visititems(visit)
    return sorted(found)


def read(run, name):
    """(time [ms], data) of one recorded quantity; data has one row per sample."""
    group = run[name]
    # See what a running writer has flushed since the file was opened: the storage first,
    # then the two views of it.
    for dataset in (group["samples"], group["data"], group["time"]):
        dataset.refresh()
    time = group["time"][()]
    data = group["data"][()]
    return time, data


def check_layout(run):
    """The list of ways `run` departs from the documented layout (empty when it fits)."""
    problems = []
    for key in ROOT_ATTRIBUTES:
        if key not in run.attrs:
            problems.append(f"/: attribute '{key}' is missing")
    if run.attrs.get("format_version") != FORMAT_VERSION:
        problems.append(f"/: format_version is {run.attrs.get('format_version')}, expected {FORMAT_VERSION}")
    for name in names(run):
        data, time = run[name]["data"], run[name]["time"]
        if data.shape[0] != time.shape[0]:
            problems.append(f"{name}: data has {data.shape[0]} samples, time {time.shape[0]}")
        if time.ndim != 1:
            problems.append(f"{name}: time has {time.ndim} dimensions")
        if data.maxshape[0] is not None or time.maxshape[0] is not None:
            problems.append(f"{name}: not extendible along the samples")
        if _text(time.attrs.get("units")) != "ms":
            problems.append(f"{name}: time units are not ms")
        if "units" not in data.attrs:
            problems.append(f"{name}: data has no units")
        if "sampling_interval" not in data.attrs:
            problems.append(f"{name}: data has no sampling_interval")
        if "unit_ids" in data.attrs and len(data.attrs["unit_ids"]) != data.shape[1]:
            problems.append(f"{name}: unit_ids does not match the number of columns")
        if name.endswith("/weights") and data.ndim != 3:
            problems.append(f"{name}: weight snapshots must be [n, n_post, n_pre]")
        t = time[()]
        if t.size > 1 and not np.all(np.diff(t) > 0):
            problems.append(f"{name}: time is not increasing")
    return problems


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def main(argv):
    """Command line: prints a file's attributes and recordings, checks its layout; exits 1
    when the layout is off, 2 on a usage error (argv as sys.argv)."""
    parser = argparse.ArgumentParser(
        prog="python3 -m ratesim.traces",
        description="Lists what a ratesim HDF5 file holds (attributes, recordings with their "
        "shapes, units and sampling intervals) and checks it against the documented layout "
        "(docs/hdf5-layout.md).",
    )
    parser.add_argument("file", metavar="FILE.h5", help="a file written by ratesim")
    args = parser.parse_args(argv[1:])
    try:
        run = open_run(args.file)
    except (OSError, ValueError) as e:
        print(f"ratesim.traces: {e}", file=sys.stderr)
        return 2
    with run:
        for key in ROOT_ATTRIBUTES:
            if key != "config":
                print(f"{key}: {_text(run.attrs.get(key))}")
        for name in names(run):
            data = run[name]["data"]
            print(f"{name}: {data.shape} [{_text(data.attrs.get('units'))}], "
                  f"every {data.attrs.get('sampling_interval')} ms")
        problems = check_layout(run)
        for p in problems:
            print(f"layout: {p}", file=sys.stderr)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
