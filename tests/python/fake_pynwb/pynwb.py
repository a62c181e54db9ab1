"""A stand-in for pynwb (not packaged by Debian 12, and PyPI is out of reach here) with the
part of its API that ratesim.traces.to_nwb uses, checking its arguments as pynwb's
docval does (required keywords, types, names without '/', timestamps against data), and
keeping what was written in `written` for the test to inspect. It proves the mapping, not
the NWB schema: a test with the real pynwb runs where it is installed (test_spikes.py)."""

import datetime

import h5py
import numpy as np

written = []


def _need(kwargs, name, kind):
    if name not in kwargs:
        raise TypeError(f"missing argument '{name}'")
    if not isinstance(kwargs[name], kind):
        raise TypeError(f"'{name}' must be {kind}, got {type(kwargs[name])}")
    return kwargs[name]


class TimeSeries:
    def __init__(self, **kwargs):
        self.name = _need(kwargs, "name", str)
        if "/" in self.name:
            raise ValueError(f"name '{self.name}' contains '/'")
        self.unit = _need(kwargs, "unit", str)
        self.data = np.asarray(kwargs["data"])
        self.timestamps = np.asarray(kwargs["timestamps"], dtype=float)
        self.description = kwargs.get("description", "no description")
        if self.timestamps.ndim != 1 or self.timestamps.shape[0] != self.data.shape[0]:
            raise ValueError(f"{self.name}: timestamps {self.timestamps.shape} do not match data {self.data.shape}")


class NWBFile:
    def __init__(self, **kwargs):
        self.session_description = _need(kwargs, "session_description", str)
        self.identifier = _need(kwargs, "identifier", str)
        self.session_start_time = _need(kwargs, "session_start_time", datetime.datetime)
        if self.session_start_time.tzinfo is None:
            raise ValueError("session_start_time needs a time zone")
        self.notes = kwargs.get("notes")
        self.acquisition = {}
        self.unit_columns = []
        self.units = []

    def add_acquisition(self, series):
        if series.name in self.acquisition:
            raise ValueError(f"'{series.name}' already exists")
        self.acquisition[series.name] = series

    def add_unit_column(self, name, description):
        self.unit_columns.append(name)

    def add_unit(self, spike_times, **columns):
        if sorted(columns) != sorted(self.unit_columns):
            raise ValueError(f"columns {sorted(columns)}, expected {sorted(self.unit_columns)}")
        self.units.append(dict(columns, spike_times=np.asarray(spike_times)))


class NWBHDF5IO:
    def __init__(self, path, mode):
        self.path, self.mode = path, mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, nwbfile):
        with h5py.File(self.path, "w") as f:
            f.attrs["identifier"] = nwbfile.identifier
            for name, series in nwbfile.acquisition.items():
                f[f"acquisition/{name}/data"] = series.data
                f[f"acquisition/{name}/timestamps"] = series.timestamps
        written.append(nwbfile)
