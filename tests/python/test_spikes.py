"""Spikes in SONATA's layout, read from outside C++: with h5py alone (as any SONATA reader
would) and with ratesim.traces, after a run of examples/spiking.toml, after a run killed
with SIGKILL, and from the Python module's Recorder and Monitor. Needs RATESIM_CLI (the
ratesim program) and PYTHONPATH=<build>/python."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

import ratesim
from ratesim import traces

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("RATESIM_CLI", "build/ratesim")
SOURCE = os.environ.get("RATESIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(SOURCE, "examples", "spiking.toml")
DT = 0.5  # the example's clock step [ms]


def run_example(path, *overrides, background=False):
    """`ratesim run examples/spiking.toml` writing to `path`: waits for it, or with
    `background` returns the running process."""
    command = [CLI, "run", EXAMPLE, "--quiet", "--set", f'output.file="{path}"', *overrides]
    if background:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(command, check=True, capture_output=True, text=True)


def sonata_spikes(path, population):
    """(timestamps, node_ids) of a population read with h5py alone, checked against the
    layout SONATA gives a spike file."""
    with h5py.File(path, "r", swmr=True) as f:
        assert f.attrs["magic"] == 0x0A7A, f.attrs.get("magic")
        assert list(f.attrs["version"]) == [0, 1]
        group = f["spikes"][population]
        members = h5py.check_enum_dtype(group.attrs.get_id("sorting").dtype)
        assert members == {"none": 0, "by_id": 1, "by_time": 2}, members
        assert group.attrs["sorting"] == members["by_time"]
        timestamps, node_ids = group["timestamps"], group["node_ids"]
        assert timestamps.dtype == np.float64 and node_ids.dtype == np.uint64
        assert timestamps.attrs["units"] == "ms"
        assert timestamps.maxshape == (None,) and node_ids.maxshape == (None,)
        return timestamps[()], node_ids[()]


class ExampleFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "spiking.h5")

    def tearDown(self):
        self.dir.cleanup()

    def test_the_example_records_both_populations_in_sonatas_layout(self):
        run_example(self.path, "--set", "run.presentations=40")  # 2000 ms
        spikes = {p: sonata_spikes(self.path, p) for p in ("input", "output")}
        for population, size, rate in (("input", 25, 20.0), ("output", 10, 0.2)):
            t, units = spikes[population]
            self.assertEqual(t.shape, units.shape)
            self.assertTrue(np.all(np.diff(t) >= 0), population)
            self.assertTrue(np.all(units < size), population)
            np.testing.assert_array_equal(t, DT * np.round(t / DT))  # on the clock's steps
            # A spike is stamped with the end of its step: in (0, 2000].
            self.assertGreater(t[0], 0.0)
            self.assertLessEqual(t[-1], 2000.0)
            # Rates A ν = 20/ms and R = 0.2/ms: counts within 5 standard deviations.
            expected = rate * 2000.0
            self.assertLess(abs(t.size - expected), 5 * np.sqrt(expected), population)
        with h5py.File(self.path, "r") as f:
            samples = f["spikes/input/samples"]
            self.assertEqual(samples.compression, "gzip")
            self.assertTrue(samples.shuffle)
            self.assertIsNotNone(samples.chunks)

        with traces.open_run(self.path) as run:
            self.assertEqual(traces.check_layout(run), [])
            self.assertEqual(traces.spike_populations(run), ["input", "output"])
            self.assertIn("spikes/output", traces.names(run))
            self.assertEqual(traces.sorting(run["spikes/output"]), "by_time")
            read = traces.spikes(run)
            self.assertEqual(sorted(read), ["input", "output"])
            for population, (t, units) in read.items():
                np.testing.assert_array_equal(t, spikes[population][0])
                np.testing.assert_array_equal(units, spikes[population][1])
            t, units = traces.read(run, "spikes/output")
            np.testing.assert_array_equal(units, spikes["output"][1])

        listed = subprocess.run([sys.executable, "-m", "ratesim.traces", self.path],
                                capture_output=True, text=True)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(f"spikes/output: {spikes['output'][0].size} spikes", listed.stdout)
        self.assertIn(f"spikes/input: {spikes['input'][0].size} spikes", listed.stdout)

    def test_a_run_exports_to_nwb(self):
        run_example(self.path, "--set", "run.presentations=10", "--set",
                    'record=[{what = "spikes", population = "output"}, '
                    '{population = "output", variable = "rate", every = 5.0}]')
        out = os.path.join(self.dir.name, "spiking.nwb")
        try:
            import pynwb  # the real one, where it is installed
        except ImportError:
            # Without pynwb: a message that says what is missing, exit 2, no file.
            missing = subprocess.run([sys.executable, "-m", "ratesim.traces", self.path, "--nwb", out],
                                     capture_output=True, text=True)
            self.assertEqual(missing.returncode, 2)
            self.assertIn("needs pynwb", missing.stderr)
            self.assertFalse(os.path.exists(out))
            # The mapping, with a stand-in that checks the arguments as pynwb does.
            sys.path.insert(0, os.path.join(HERE, "fake_pynwb"))
            self.addCleanup(sys.path.remove, os.path.join(HERE, "fake_pynwb"))
            import pynwb
            self.addCleanup(sys.modules.pop, "pynwb")
        traces.to_nwb(self.path, out)
        with self.assertRaises(FileExistsError):
            traces.to_nwb(self.path, out)
        with traces.open_run(self.path) as run:
            t, rates = traces.read(run, "output/rate")
            spikes, config, run_id = traces.spikes(run)["output"], run.attrs["config"], run.attrs["run_id"]
        if hasattr(pynwb, "written"):  # the stand-in
            nwb = pynwb.written[-1]
            units = nwb.units
        else:
            io = pynwb.NWBHDF5IO(out, "r")
            self.addCleanup(io.close)
            nwb = io.read()
            units = nwb.units.to_dataframe().to_dict("records")
        self.assertEqual((nwb.identifier, nwb.notes), (run_id, config))
        series = nwb.acquisition["output.rate"]
        np.testing.assert_array_equal(np.asarray(series.timestamps), t / 1000.0)  # seconds
        np.testing.assert_array_equal(np.asarray(series.data), rates)
        self.assertEqual(series.unit, "1")
        fired = np.unique(spikes[1])
        self.assertEqual(len(units), fired.size)
        for unit in units:
            self.assertEqual(unit["population"], "output")
            np.testing.assert_array_equal(np.asarray(unit["spike_times"]),
                                          spikes[0][spikes[1] == unit["node_id"]] / 1000.0)

    def test_a_run_killed_with_sigkill_keeps_every_flushed_spike(self):
        child = run_example(self.path, "--set", "run.presentations=1000000", background=True)
        try:
            seen = self._wait_for_spikes(minimum=20000)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        self.assertEqual(child.returncode, -signal.SIGKILL)
        with traces.open_run(self.path) as run:
            self.assertEqual(traces.check_layout(run), [])
            t, units = traces.read(run, "spikes/input")
        self.assertGreaterEqual(t.size, seen)
        # Exactly the spikes of the same run stopped after the last one kept.
        again = os.path.join(self.dir.name, "again.h5")
        run_example(again, "--unset", "run.presentations", "--set", f"run.duration={t[-1] + DT}")
        t_all, units_all = sonata_spikes(again, "input")
        np.testing.assert_array_equal(t, t_all[: t.size])
        np.testing.assert_array_equal(units, units_all[: t.size])

    def _wait_for_spikes(self, minimum):
        deadline = time.time() + 60
        while time.time() < deadline:
            time.sleep(0.05)
            try:
                with traces.open_run(self.path) as run:
                    n = traces.read(run, "spikes/input")[0].size
                    if n >= minimum:
                        return n
            except (OSError, KeyError, ValueError):
                pass  # not created yet, or not yet in SWMR mode
        self.fail("the running simulation wrote no readable spikes")


def spiking_network(rule="spike_scaling"):
    rng = np.random.default_rng(5)
    net = ratesim.Network()
    net.add_population("poisson_input", "input", size=12, A=24.0)
    net.add_population("stochastic_wta", "output", size=3, R=0.5)
    W = rng.uniform(1.0, 2.0, size=(3, 12))
    W *= 24.0 / W.sum(axis=1, keepdims=True)
    net.connect("input", "output", "ff", W, rule=rule,
                **({"eta": 0.02} if isinstance(rule, str) else {}))
    net.stimulate_patterns("input", rng.uniform(0.5, 10.0, size=(10, 12)), duration=20.0)
    return net


class PythonSpikeScaling(ratesim.Rule):
    """spike_scaling written in Python: W_c += eta scale (pre - W_c) at a spike of c."""

    name = "python_spike_scaling"

    def __init__(self, eta):
        self.eta = eta

    def derivative(self, W, pre, post):
        return self.eta * post[:, None] * (pre[None, :] - W)

    def post_spike(self, W, c, pre, scale):
        W[c] += self.eta * scale * (pre - W[c])


class FromPython(unittest.TestCase):
    def test_a_spike_triggered_rule_in_python_gives_the_builtins_weights(self):
        weights = []
        for rule in ("spike_scaling", PythonSpikeScaling(0.02)):
            net = spiking_network(rule)
            sim = ratesim.simulation(net, "spiking", dt=DT, seed=8)
            sim.run(400.0)
            weights.append(np.array(net.weights("ff")))
        initial = np.array(spiking_network().weights("ff"))
        self.assertGreater(np.abs(weights[0] - initial).max(), 1e-3)  # it learned
        np.testing.assert_allclose(weights[1], weights[0], rtol=1e-13)
        # A Python rule without post_spike is refused by the regime, naming it.
        class RateOnly(ratesim.Rule):
            def derivative(self, W, pre, post):
                return 0.0 * W
        with self.assertRaisesRegex(ratesim.UsageError, "has no spike-triggered form"):
            ratesim.simulation(spiking_network(RateOnly()), "spiking", dt=DT, seed=8)

    def test_recorder_monitor_and_record_kind_see_the_same_spikes(self):
        with tempfile.TemporaryDirectory() as d:
            path, kind = os.path.join(d, "spikes.h5"), os.path.join(d, "kind.h5")
            net = spiking_network()
            sim = ratesim.simulation(net, "spiking", dt=DT, seed=8)
            recorder, monitor = ratesim.Recorder(path, flush_every=10), ratesim.Monitor()
            by_kind = ratesim.Recorder(kind)
            for r in (recorder, monitor):
                r.record_spikes("output")
                r.record_spikes("input", start=100.0, stop=200.0)
                sim.attach(r)
            by_kind.record_kind(net, "spikes", population="output")
            sim.attach(by_kind)
            self.assertEqual(repr(recorder), f'<ratesim.Recorder "{path}": spikes/output, spikes/input>')
            sim.run(300.0)
            recorder.close()
            by_kind.close()
            self.assertEqual(monitor.names(), ["spikes/input", "spikes/output"])
            t, units = monitor["spikes/output"]
            self.assertGreater(t.size, 50)  # R = 0.5/ms over 300 ms
            np.testing.assert_array_equal((t, units), sonata_spikes(path, "output"))
            np.testing.assert_array_equal((t, units), sonata_spikes(kind, "output"))
            t_in, _ = monitor["spikes/input"]
            self.assertTrue(t_in.size > 0 and t_in.min() >= 100.0 and t_in.max() < 200.0)
            with traces.open_run(path) as run:
                self.assertEqual(traces.check_layout(run), [])

            with self.assertRaisesRegex(ratesim.ParameterError, "not sampled"):
                bad = ratesim.Recorder(os.path.join(d, "bad.h5"))
                bad.record_kind(net, "spikes", every=1.0, population="output")
                sim.attach(bad)

    def test_raster_draws_one_mark_per_spike(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ratesim import plot

        net = spiking_network()
        sim = ratesim.simulation(net, "spiking", dt=DT, seed=8)
        monitor = ratesim.Monitor()
        monitor.record_spikes("output")
        sim.attach(monitor)
        sim.run(200.0)
        t, units = monitor["spikes/output"]
        ax = plot.raster(monitor, "output")
        offsets = ax.collections[0].get_offsets()
        np.testing.assert_array_equal(offsets[:, 0], t)
        np.testing.assert_array_equal(offsets[:, 1], units)
        ax = plot.raster(monitor, "output", start=50.0, stop=100.0)
        self.assertEqual(len(ax.collections[0].get_offsets()), np.sum((t >= 50.0) & (t < 100.0)))
        with self.assertRaisesRegex(KeyError, "nothing recorded as 'spikes/input'"):
            plot.raster(monitor, "input")
        plt.close("all")


if __name__ == "__main__":
    unittest.main()
