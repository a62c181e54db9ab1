"""A notebook's session, cell by cell, as a user from Brian2 or NEST would write it: build
the seed's circuit on the bars test, run with a progress bar, press Ctrl-C, go on, watch in
a Monitor, plot, and write an HDF5 file that `ratesim rerun` runs again to the same bits.
Also the files that cannot be rerun, and say why. Run with PYTHONPATH=<build>/python and
RATESIM_CLI=<build>/ratesim."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import h5py
import numpy as np

import ratesim

CLI = os.environ.get("RATESIM_CLI", "ratesim")


def bars(side, n, rng, bar=10.0, background=1.0):
    """n images of the bars test: each a random horizontal or vertical bar on a background."""
    images = np.full((n, side, side), background)
    for image, k in zip(images, rng.integers(0, 2 * side, size=n)):
        if k < side:
            image[k, :] = bar
        else:
            image[:, k - side] = bar
    return images.reshape(n, side * side)


def circuit(rule="synaptic_scaling", side=4, C=8, A=40.0, seed=1):
    """The seed's circuit learning bars (weights from the data's mean plus noise)."""
    rng = np.random.default_rng(seed)
    D = side * side
    data = bars(side, 500, rng)
    W0 = data.mean(axis=0) * rng.uniform(0.5, 1.5, size=(C, D))
    W0 *= A / W0.sum(axis=1, keepdims=True)
    net = ratesim.Network()
    net.add_population("feedforward_inhibition", "input", size=D, A=A)
    net.add_population("softmax_competition", "output", size=C)
    net.connect("input", "output", "ff", W0, rule=rule, **({"tau": 100.0} if isinstance(rule, str) else {}))
    net.stimulate_patterns("input", data, duration=1.0, shuffle=True, seed=5)
    return net


def datasets(path, skip="inputs"):
    """Every dataset of an HDF5 file but those under /`skip`, by name."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) and not name.startswith(skip) else None)
    return found


def rerun(path, again):
    return subprocess.run([CLI, "rerun", path, "--output", again, "-q"], capture_output=True, text=True)


class Notebook(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def path(self, name):
        return os.path.join(self.folder.name, name)

    def test_a_session_from_building_to_a_rerun_with_the_same_bits(self):
        # Cell 1: the circuit, a file and a monitor.
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net)
        recorder = ratesim.Recorder(self.path("session.h5"))
        recorder.record("output", "rate", every=50.0)
        recorder.record_weights("ff", every=2000.0)
        recorder.record_weight_sums("ff", every=100.0)
        monitor = ratesim.Monitor()
        monitor.record("output", "rate", every=50.0)
        monitor.record_weights("ff", every=2000.0)
        sim.attach(recorder)
        sim.attach(monitor)

        # Cell 2: a run with a progress report.
        seen = []
        sim.run_presentations(3000, progress=lambda done, total: seen.append((done, total)))
        self.assertEqual(seen[-1], (3000, 3000))
        self.assertEqual(sim.presentations, 3000)

        # Cell 3: a long run, interrupted by Ctrl-C; KeyboardInterrupt within 0.5 s.
        sent = []
        timer = threading.Timer(0.3, lambda: (sent.append(time.monotonic()),
                                              os.kill(os.getpid(), signal.SIGINT)))
        timer.start()
        with self.assertRaises(KeyboardInterrupt):
            sim.run_presentations(10**9)
        delay = time.monotonic() - sent[0]
        timer.join()
        self.assertLess(delay, 0.5)
        stopped_at = sim.presentations
        self.assertGreater(stopped_at, 3000)

        # Cell 4: going on from there, to a round number.
        sim.run_presentations(4000 - stopped_at % 1000 + 1000)

        # Cell 5: the monitor holds what the file holds, bit for bit (and, a scratch file,
        # none of what a rerun needs).
        t, rates = monitor["output/rate"]
        with h5py.File(monitor.path, "r", swmr=True) as f:
            self.assertNotIn("inputs", f)
        with h5py.File(self.path("session.h5"), "r", swmr=True) as f:
            np.testing.assert_array_equal(f["output/rate/time"][()], t)
            np.testing.assert_array_equal(f["output/rate/data"][()], rates)
        self.assertTrue(np.allclose(rates.sum(axis=1), 1.0))  # a softmax: rates sum to 1

        # Cell 6: figures.
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from ratesim import plot

        recorder.flush()
        fig = plot.weights(net.weights("ff"), shape=(4, 4))
        fig.savefig(self.path("W.png"))
        fig, ax = plt.subplots()
        plot.weight_sums(self.path("session.h5"), "ff", ax=ax)
        fig.savefig(self.path("sums.png"))
        plt.close("all")
        self.assertGreater(os.path.getsize(self.path("W.png")), 1000)
        self.assertGreater(os.path.getsize(self.path("sums.png")), 1000)

        # The circuit learnt the bars: most units' weights concentrate on one bar (at the
        # start, a bar's share of a unit's weights is about 1/3).
        W = net.weights("ff").reshape(8, 4, 4)
        share = np.maximum(W.max(axis=1).sum(axis=1), W.max(axis=2).sum(axis=1)) / W.sum(axis=(1, 2))
        self.assertGreaterEqual(np.sum(share > 0.5), 6, share)

        # Cell 7: the kernel ends; the file is complete and describes the run.
        del sim, recorder, monitor
        with h5py.File(self.path("session.h5"), "r") as f:
            self.assertEqual(f.attrs["rerunnable"], "yes")
            config = f.attrs["config"]
            self.assertIn("[projection.ff]", config)
            self.assertIn('rule = { name = "synaptic_scaling", tau = 100 }', config)
            self.assertEqual(f["inputs/patterns/input"].shape, (500, 16))
            runs = f["inputs/runs"][()]
            self.assertEqual(runs.shape, (3, 5))  # three calls, the interrupted one included
            self.assertEqual(list(runs[:, 0]), [0, 3000, stopped_at])
            self.assertEqual(list(runs[:, 4]), [0, 1, 0])  # the second ended paused (Ctrl-C)

        # A new shell: the file runs again, to the same bits.
        done = rerun(self.path("session.h5"), self.path("again.h5"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("the same bits at the end of every run", done.stdout)
        original, again = datasets(self.path("session.h5")), datasets(self.path("again.h5"))
        self.assertEqual(sorted(original), sorted(again))
        self.assertIn("ff/weights/data", original)
        for name in original:
            np.testing.assert_array_equal(original[name], again[name], err_msg=name)
        with h5py.File(self.path("again.h5"), "r") as f:  # the rerun says it is one
            self.assertTrue(f.attrs["rerunnable"].startswith("no: it is a rerun of "))

        # Never over the file it reruns (by any name); an existing output only with
        # --overwrite.
        os.symlink(self.path("session.h5"), self.path("link.h5"))
        for same in ("session.h5", "link.h5", "./session.h5", "../" + os.path.basename(self.folder.name) + "/session.h5"):
            refused = subprocess.run([CLI, "rerun", "session.h5", "--output", same, "-q"],
                                     capture_output=True, text=True, cwd=self.folder.name)
            self.assertEqual(refused.returncode, 2, same)
            self.assertIn("another file than the one rerun", refused.stderr)
        refused = rerun(self.path("session.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertEqual(datasets(self.path("again.h5")).keys(), again.keys())

    def assert_reruns(self, name):
        done = rerun(self.path(name), self.path("again-" + name))
        self.assertEqual(done.returncode, 0, done.stderr)
        original, again = datasets(self.path(name)), datasets(self.path("again-" + name))
        self.assertEqual(sorted(original), sorted(again))
        for key in original:
            np.testing.assert_array_equal(original[key], again[key], err_msg=key)

    def test_mini_batches_regimes_by_name_and_stimuli_by_name_rerun(self):
        rng = np.random.default_rng(2)
        # A file name TOML must quote.
        images = self.path('we"ird \\ name.npy')
        np.save(images, bars(4, 60, rng))
        for case in ("batches", "ode by name", "bars", "file source"):
            with self.subTest(case=case):
                net = circuit()
                if case == "bars":
                    net.stimulate("input", "bars", rng=9, side=4, samples=50, duration=1.0, order="shuffled")
                if case == "file source":
                    net.stimulate("input", "file", images=images, duration=2.0, order="shuffled", seed=4)
                sim = (ratesim.QuasiStaticSimulation(net, batch_size=4) if case == "batches"
                       else ratesim.simulation(net, "ode", stepper="euler", dt=0.25) if case == "ode by name"
                       else ratesim.simulation(net, "quasi_static", batch_size=1))
                name = case.replace(" ", "_") + ".h5"
                recorder = ratesim.Recorder(self.path(name))
                recorder.record("output", "rate", every=2.0)
                recorder.record_weights("ff", every=20.0)
                sim.attach(recorder)
                sim.run(22.0)  # mini-batches of 4: each call ends with one applied
                sim.run(18.0)
                del sim, recorder
                self.assert_reruns(name)

    def test_a_call_stopped_inside_a_mini_batch_is_named(self):
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net, batch_size=4)
        recorder = ratesim.Recorder(self.path("open.h5"))
        recorder.record("output", "rate")
        sim.attach(recorder)

        def stop(done, total):  # as Ctrl-C would, inside a mini-batch
            if done >= 5 and done % 4 != 0:
                raise KeyboardInterrupt

        with self.assertRaises(KeyboardInterrupt):
            sim.run_presentations(10**6, progress=stop)
        del sim, recorder
        refused = rerun(self.path("open.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertIn("with a mini-batch open", refused.stderr)

    def test_a_stimulus_replaced_or_a_dotted_name_is_named(self):
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net)
        recorder = ratesim.Recorder(self.path("replaced.h5"))
        recorder.record("output", "rate")
        sim.attach(recorder)
        sim.run_presentations(5)
        net.stimulate_patterns("input", np.ones((3, 16)))
        sim.run_presentations(5)
        del sim, recorder
        refused = rerun(self.path("replaced.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertIn("stimuli", refused.stderr)

        net = ratesim.Network()
        net.add_population("feedforward_inhibition", "in.put", size=4, A=8.0)
        net.add_population("softmax_competition", "out", size=2)
        net.connect("in.put", "out", "ff", np.ones((2, 4)), rule="synaptic_scaling")
        net.stimulate_patterns("in.put", np.ones((3, 4)))
        sim = ratesim.QuasiStaticSimulation(net)
        recorder = ratesim.Recorder(self.path("dotted.h5"))
        recorder.record("out", "rate")
        sim.attach(recorder)
        sim.run_presentations(3)
        del sim, recorder
        with h5py.File(self.path("dotted.h5"), "r") as f:
            self.assertIn('population "in.put" has a \'.\' in its name', f.attrs["rerunnable"])

    def test_weights_changed_between_runs_make_a_file_that_says_it_cannot_be_rerun(self):
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net)
        recorder = ratesim.Recorder(self.path("edited.h5"))
        recorder.record("output", "rate", every=10.0)
        sim.attach(recorder)
        sim.run_presentations(200)
        net.weights("ff")[0, 0] *= 1.5  # an edit no description holds
        sim.run_presentations(200)
        del sim, recorder
        refused = rerun(self.path("edited.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertIn("changed from Python", refused.stderr)
        self.assertIn("step 200", refused.stderr)
        self.assertFalse(os.path.exists(self.path("again.h5")))

    def test_what_cannot_be_described_is_named(self):
        class Hebb(ratesim.Rule):
            def derivative(self, W, pre, post):
                return 0.001 * (np.outer(post, pre) - W * post[:, None])

        cases = {
            "a rule written in Python": lambda: circuit(rule=Hebb()),
            "made in the order output, input": None,
        }
        for why, build in cases.items():
            with self.subTest(why=why):
                if build is None:  # populations out of the order an experiment file makes
                    net = ratesim.Network()
                    net.add_population("softmax_competition", "output", size=2)
                    net.add_population("feedforward_inhibition", "input", size=4, A=8.0)
                    net.connect("input", "output", "ff", np.ones((2, 4)), rule="synaptic_scaling")
                    net.stimulate_patterns("input", np.ones((3, 4)))
                else:
                    net = build()
                sim = ratesim.QuasiStaticSimulation(net)
                path = self.path(f"case{len(why)}.h5")
                recorder = ratesim.Recorder(path)
                recorder.record("output", "rate")
                sim.attach(recorder)
                sim.run_presentations(5)
                del sim, recorder
                with h5py.File(path, "r") as f:
                    self.assertIn(why, f.attrs["rerunnable"])
                    self.assertNotIn("inputs/patterns", f)
                refused = rerun(path, self.path("again.h5"))
                self.assertEqual(refused.returncode, 2, refused.stderr)
                self.assertIn("cannot be rerun: ", refused.stderr)
                self.assertIn(why, refused.stderr)

    def test_a_recorder_without_inputs_makes_a_file_of_traces_only(self):
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net)
        recorder = ratesim.Recorder(self.path("lean.h5"), keep_inputs=False)
        recorder.record("output", "rate")
        sim.attach(recorder)
        sim.run_presentations(10)
        del sim, recorder
        with h5py.File(self.path("lean.h5"), "r") as f:
            self.assertNotIn("inputs", f)
            self.assertEqual(f["output/rate/data"].shape, (11, 8))
        refused = rerun(self.path("lean.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2)
        self.assertIn("holds no experiment to rerun", refused.stderr)

    def test_a_run_before_the_recorder_came_is_named(self):
        net = circuit()
        sim = ratesim.QuasiStaticSimulation(net)
        sim.run_presentations(10)
        recorder = ratesim.Recorder(self.path("late.h5"))
        recorder.record("output", "rate")
        sim.attach(recorder)
        sim.run_presentations(10)
        del sim, recorder
        refused = rerun(self.path("late.h5"), self.path("again.h5"))
        self.assertEqual(refused.returncode, 2)
        self.assertIn("had run 10 steps (t = 10 ms) before the recorder was attached", refused.stderr)

    def test_a_file_size_limit_while_the_inputs_are_written_is_an_error_not_a_crash(self):
        # 8 MB of patterns that do not compress, under a 2 MiB file-size limit: the file
        # fails while it is made; the error comes back, no file is left, and the process
        # ends normally (HDF5 used to crash at exit on the half-made file).
        child = (
            "import resource, signal, sys, numpy as np, ratesim\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))\n"
            "rng = np.random.default_rng(1)\n"
            "net = ratesim.Network()\n"
            "net.add_population('feedforward_inhibition', 'input', size=100, A=200.0)\n"
            "net.add_population('softmax_competition', 'output', size=4)\n"
            "net.connect('input', 'output', 'ff', np.full((4, 100), 2.0), rule='synaptic_scaling')\n"
            "net.stimulate_patterns('input', rng.uniform(1, 2, size=(10000, 100)))\n"
            "sim = ratesim.QuasiStaticSimulation(net)\n"
            "r = ratesim.Recorder(sys.argv[1])\n"
            "r.record('output')\n"
            "try:\n"
            "    sim.attach(r)\n"
            "except ratesim.Error as e:\n"
            "    print('refused:', e)\n")
        done = subprocess.run([sys.executable, "-c", child, self.path("big.h5")],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("refused:", done.stdout)
        self.assertEqual(os.listdir(self.folder.name), [])

    def test_the_ode_regime_settled_and_split_into_calls_reruns_too(self):
        net = circuit()
        sim = ratesim.OdeSimulation(net, stepper="rk4", dt=0.1)
        sim.settle()
        recorder = ratesim.Recorder(self.path("ode.h5"))
        recorder.record("output", "rate", every=0.5)
        recorder.record("input", "h", every=1.0)
        sim.attach(recorder)
        sim.run(50.0)
        sim.run_steps(37)
        sim.run(20.0)
        del sim, recorder
        done = rerun(self.path("ode.h5"), self.path("again.h5"))
        self.assertEqual(done.returncode, 0, done.stderr)
        original, again = datasets(self.path("ode.h5")), datasets(self.path("again.h5"))
        self.assertEqual(sorted(original), sorted(again))
        for name in original:
            np.testing.assert_array_equal(original[name], again[name], err_msg=name)


if __name__ == "__main__":
    unittest.main()
