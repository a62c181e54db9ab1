"""Read the HDF5 traces that ratesim writes, with nothing but h5py and numpy.

    from ratesim import traces
    with traces.open_run("run.h5") as run:
        print(traces.names(run))                   # ['input/h', 'output/rate', 'ff/weights', ...]
        t, rates = traces.read(run, "output/rate")  # times [ms], samples [n, units]
        t, units = traces.read(run, "spikes/output")  # spike times [ms], their unit indices
        for population, (t, units) in traces.spikes(run).items(): ...

Files are opened as SWMR readers, so a file that a simulation is still writing, or one
left by a run that was killed, opens too. Spikes (the spiking regime) are kept in SONATA's spike layout, /spikes/<population>/
timestamps and node_ids, which other SONATA readers read too. to_nwb(FILE, OUT) exports a
run to Neurodata Without Borders with pynwb, when it is installed. Command line: python3 -m
ratesim.traces FILE [--nwb OUT.nwb]. Layout: docs/hdf5-layout.md.
"""

import argparse
import datetime
import os
import sys

import h5py
import numpy as np

FORMAT = "ratesim"
FORMAT_VERSION = 1
ROOT_ATTRIBUTES = ("format", "format_version", "ratesim_version", "created", "seed", "config", "dt")
SPIKES = "spikes"  # SONATA's group of the spike populations
SONATA_MAGIC = 0x0A7A


def open_run(path):
    """Opens a ratesim file read-only; works while it is being written and after a crash."""
    f = h5py.File(path, "r", swmr=True)
    if _text(f.attrs.get("format")) != FORMAT:
        f.close()
        raise ValueError(f"{path}: not a ratesim file (no format = 'ratesim' at /)")
    return f


def names(run):
    """Every recorded quantity: the groups that hold a `data` and a `time` dataset, and the
    spikes of each population ('spikes/<population>')."""
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and ("data" in obj and "time" in obj or _holds_spikes(obj)):
            found.append(name)

    run.visititems(visit)
    return sorted(found)


def read(run, name):
    """(time [ms], data) of one recorded quantity; data has one row per sample. For the
    spikes of a population ('spikes/<population>'): (timestamps [ms], node_ids), the time
    and the unit index of every spike, in time order."""
    group = run[name]
    views = ("timestamps", "node_ids") if _holds_spikes(group) else ("time", "data")
    # See what a running writer has flushed since the file was opened: the storage first,
    # then the two views of it (a SONATA file from elsewhere may have no storage).
    for dataset in ("samples",) + views:
        if dataset in group:
            group[dataset].refresh()
    return group[views[0]][()], group[views[1]][()]


def spike_populations(run):
    """The populations whose spikes the file holds (the groups of /spikes)."""
    if SPIKES not in run:
        return []
    return sorted(name for name, group in run[SPIKES].items() if _holds_spikes(group))


def spikes(run):
    """{population: (timestamps [ms], node_ids)} for every population whose spikes the file
    holds: each spike's time and unit index, in time order."""
    return {p: read(run, f"{SPIKES}/{p}") for p in spike_populations(run)}


def sorting(group):
    """The order a SONATA spike group declares ('none', 'by_id', 'by_time'), or None. It is
    an enumerated attribute (SONATA, libsonata); a string, as some writers make, is read
    too."""
    if "sorting" not in group.attrs:
        return None
    value = group.attrs["sorting"]
    members = h5py.check_enum_dtype(group.attrs.get_id("sorting").dtype)
    if members:
        value = {number: name for name, number in members.items()}.get(int(value), value)
    return _text(value)


def check_layout(run):
    """The list of ways `run` departs from the documented layout (empty when it fits)."""
    problems = []
    for key in ROOT_ATTRIBUTES:
        if key not in run.attrs:
            problems.append(f"/: attribute '{key}' is missing")
    if run.attrs.get("format_version") != FORMAT_VERSION:
        problems.append(f"/: format_version is {run.attrs.get('format_version')}, expected {FORMAT_VERSION}")
    for name in names(run):
        if _holds_spikes(run[name]):
            continue  # below
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
    populations = spike_populations(run)
    if populations:
        if run.attrs.get("magic") != SONATA_MAGIC:
            problems.append(f"/: SONATA's attribute 'magic' is not {SONATA_MAGIC:#06x}")
        if list(run.attrs.get("version", [])) != [0, 1]:
            problems.append("/: SONATA's attribute 'version' is not [0, 1]")
    for p in populations:
        problems += [f"{SPIKES}/{p}: {problem}" for problem in _spike_layout(run[f"{SPIKES}/{p}"])]
    return problems


def to_nwb(path, out, overwrite=False):
    """Writes the run in `path` to the NWB file `out` with pynwb (an optional dependency;
    ImportError without it). Each recorded quantity becomes a TimeSeries in the file's
    acquisition, named by its group with '.' for '/' ('output.rate', 'ff.weights',
    'metrics.weight_sum_ff'), timestamps in seconds as NWB asks, the data and its units as
    recorded; the spikes of each population become units of the Units table (one per
    unit that fired, with columns population and node_id), spike times in seconds. The
    run's configuration is the file's notes, its run_id the identifier and its creation time
    the session start. `out` is written whole or not at all; an existing one only with
    overwrite=True."""
    try:
        import pynwb
    except ImportError:
        raise ImportError("ratesim.traces.to_nwb needs pynwb (pip install pynwb; Debian 12 does not "
                          "package it)") from None
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out}: exists (overwrite=True replaces it)")
    with open_run(path) as run:
        created = _text(run.attrs.get("created", "1970-01-01T00:00:00Z"))
        nwb = pynwb.NWBFile(
            session_description=f"a simulation by ratesim {_text(run.attrs.get('ratesim_version'))} "
                                f"({os.path.basename(path)})",
            identifier=_text(run.attrs.get("run_id", os.path.basename(path))),
            session_start_time=datetime.datetime.fromisoformat(created.replace("Z", "+00:00")),
            notes=_text(run.attrs.get("config", "")),
        )
        fired = spike_populations(run)
        for name in names(run):
            if _holds_spikes(run[name]):
                continue
            t, data = read(run, name)
            nwb.add_acquisition(pynwb.TimeSeries(
                name=name.replace("/", "."), data=data, timestamps=t / 1000.0,
                unit=_text(run[name]["data"].attrs.get("units", "")) or "n.a.",
                description=f"ratesim recording {name} (docs/hdf5-layout.md)"))
        if fired:
            nwb.add_unit_column(name="population", description="the spiking population")
            nwb.add_unit_column(name="node_id", description="the unit's index in its population")
            for population in fired:
                t, ids = read(run, f"{SPIKES}/{population}")
                for unit in np.unique(ids):
                    nwb.add_unit(spike_times=t[ids == unit] / 1000.0, population=population,
                                 node_id=int(unit))
    partial = f"{out}.partial"
    try:
        with pynwb.NWBHDF5IO(partial, "w") as io:
            io.write(nwb)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _holds_spikes(group):
    return isinstance(group, h5py.Group) and "timestamps" in group and "node_ids" in group


def _spike_layout(group):
    """How a spike group departs from SONATA's layout as ratesim writes it."""
    problems = []
    timestamps, node_ids = group["timestamps"], group["node_ids"]
    if timestamps.shape[0] != node_ids.shape[0]:
        problems.append(f"timestamps has {timestamps.shape[0]} spikes, node_ids {node_ids.shape[0]}")
    if timestamps.ndim != 1 or node_ids.ndim != 1:
        problems.append("timestamps and node_ids must be one-dimensional")
    if timestamps.dtype != np.float64 or node_ids.dtype != np.uint64:
        problems.append(f"timestamps is {timestamps.dtype} (not float64), node_ids {node_ids.dtype} (not uint64)")
    if timestamps.maxshape[0] is not None or node_ids.maxshape[0] is not None:
        problems.append("not extendible along the spikes")
    if _text(timestamps.attrs.get("units")) != "ms":
        problems.append("timestamps units are not ms")
    if sorting(group) != "by_time":
        problems.append(f"sorting is {sorting(group)!r}, not 'by_time'")
    elif timestamps.shape[0] > 1 and not np.all(np.diff(timestamps[()]) >= 0):
        problems.append("timestamps are not in time order")
    return problems


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def main(argv):
    """Command line: prints a file's attributes and recordings, checks its layout; exits 1
    when the layout is off, 2 on a usage error (argv as sys.argv)."""
    parser = argparse.ArgumentParser(
        prog="python3 -m ratesim.traces",
        description="Lists what a ratesim HDF5 file holds (attributes, recordings with their "
        "shapes, units and sampling intervals, the spikes of each population with their count "
        "and time span) and checks it against the documented layout (docs/hdf5-layout.md).",
    )
    parser.add_argument("file", metavar="FILE.h5", help="a file written by ratesim")
    parser.add_argument("--nwb", metavar="OUT.nwb",
                        help="also export the run to an NWB file (needs pynwb; see to_nwb)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --nwb file")
    args = parser.parse_args(argv[1:])
    if args.nwb:
        try:
            to_nwb(args.file, args.nwb, overwrite=args.overwrite)
        except (ImportError, FileExistsError, OSError, ValueError) as e:
            print(f"ratesim.traces: {e}", file=sys.stderr)
            return 2
        print(f"wrote {args.nwb}")
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
            if _holds_spikes(run[name]):
                t, units = read(run, name)
                window = f", {t[0]:g} to {t[-1]:g} ms, units {units.min()} to {units.max()}" if t.size else ""
                print(f"{name}: {t.size} spikes{window}")
                continue
            data = run[name]["data"]
            print(f"{name}: {data.shape} [{_text(data.attrs.get('units'))}], "
                  f"every {data.attrs.get('sampling_interval')} ms")
        problems = check_layout(run)
        for p in problems:
            print(f"layout: {p}", file=sys.stderr)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
