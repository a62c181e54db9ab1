"""ratesim.Monitor: recordings as numpy arrays, without choosing a file."""

import os
import shutil
import tempfile
import weakref

from . import _core


def _scratch_folder():
    """/dev/shm (memory) where there is one, else the system's temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _remove(folder):
    shutil.rmtree(folder, ignore_errors=True)


class Monitor(_core.Recorder):
    """Records like ratesim.Recorder (record, record_weights, record_weight_sums,
    record_spikes, the same schedules), and gives the samples back as numpy arrays:

        monitor = ratesim.Monitor()
        monitor.record("output", "rate", every=1.0)
        monitor.record_weights("ff", every=100.0)
        sim.attach(monitor)
        sim.run_presentations(1000)
        t, rates = monitor["output/rate"]   # times [ms] (n,), samples (n, units)
        t, W = monitor["ff/weights"]        # (n,), (n, n_post, n_pre)
        t, units = monitor["spikes/output"] # record_spikes: spike times [ms], unit indices

    The samples live in an uncompressed HDF5 file in /dev/shm (memory; the system's
    temporary folder where there is none), removed when the monitor is deleted. Samples
    are complete after every run; during one, up to the last flush_every samples.
    """

    def __init__(self, flush_every=256):
        # A folder of its own: the file is made when a simulation attaches the monitor.
        folder = tempfile.mkdtemp(prefix="ratesim-monitor-", dir=_scratch_folder())
        super().__init__(os.path.join(folder, "samples.h5"), flush_every=flush_every, compression=0,
                         keep_inputs=False)
        # Runs once the recorder, and with it the open file, is gone.
        weakref.finalize(self, _remove, folder)

    def names(self):
        """What is recorded and has samples: 'output/rate', 'ff/weights', 'metrics/...',
        'spikes/output'."""
        from . import traces  # h5py, only when the samples are read

        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return []  # not attached yet: the file is only claimed (empty)
        with traces.open_run(self.path) as run:
            return traces.names(run)

    def __getitem__(self, name):
        """(time [ms], samples) of one recording, as new numpy arrays; for the spikes of a
        population ('spikes/<population>'), (timestamps [ms], node_ids): each spike's time
        and unit."""
        from . import traces

        known = self.names()
        if name not in known:
            raise KeyError(f"Monitor: nothing recorded as {name!r}; recorded: {', '.join(known) or 'nothing yet'}")
        with traces.open_run(self.path) as run:
            return traces.read(run, name)

    def __repr__(self):
        return f"<ratesim.Monitor: {', '.join(self.names()) or 'nothing recorded yet'}>"
