"""The HDF5 layout, checked from outside C++ with h5py: after a run, during a run, and
after a run killed with SIGKILL. The example binary is given by RATESIM_RECORD_TRACES."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

from ratesim import traces

EXAMPLE = os.environ.get("RATESIM_RECORD_TRACES", "build/examples/record_traces")


class Traces(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")

    def tearDown(self):
        self.dir.cleanup()

    def test_finished_run_has_the_documented_layout(self):
        subprocess.run([EXAMPLE, self.path, "500"], check=True, capture_output=True)
        with traces.open_run(self.path) as run:
            self.assertEqual(traces.check_layout(run), [])
            self.assertEqual(run.attrs["seed"], 2012)
            self.assertEqual(
                traces.names(run),
                ["ff/weights", "input/h", "input/y", "metrics/weight_sum_ff", "output/input", "output/rate"],
            )
            t, rate = traces.read(run, "output/rate")
            self.assertEqual(rate.shape, (1001, 10))
            np.testing.assert_allclose(t, 0.5 * np.arange(1001))
            np.testing.assert_allclose(rate.sum(axis=1), 1.0, rtol=1e-12)  # softmax
            t, w = traces.read(run, "ff/weights")
            self.assertEqual(w.shape, (6, 10, 25))
            _, sums = traces.read(run, "metrics/weight_sum_ff")
            np.testing.assert_allclose(sums[-1], w[-1].sum(axis=1), rtol=1e-12)
            y = run["input/y/data"]
            self.assertEqual(list(y.attrs["unit_ids"]), [0, 1, 2, 3, 4])
            self.assertEqual(run["input/h/time"].attrs["units"], "ms")

    def test_readable_while_running_and_after_sigkill(self):
        child = subprocess.Popen([EXAMPLE, self.path, "1e9"], stdout=subprocess.DEVNULL)
        try:
            seen = self._wait_for_samples(minimum=2000)
            with traces.open_run(self.path) as run:  # a second read, later: it has grown
                deadline = time.time() + 20
                while traces.read(run, "output/rate")[0].size <= seen and time.time() < deadline:
                    time.sleep(0.05)
                self.assertGreater(traces.read(run, "output/rate")[0].size, seen)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        with traces.open_run(self.path) as run:
            self.assertEqual(traces.check_layout(run), [])
            t, rate = traces.read(run, "output/rate")
            self.assertGreaterEqual(t.size, seen)
            np.testing.assert_allclose(t, 0.5 * np.arange(t.size))
            np.testing.assert_allclose(rate.sum(axis=1), 1.0, rtol=1e-12)

    def test_the_command_line_explains_itself_and_reads_a_file(self):
        command = [sys.executable, "-m", "ratesim.traces"]
        shown = subprocess.run(command + ["--help"], capture_output=True, text=True)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("usage: python3 -m ratesim.traces", shown.stdout)
        missing = subprocess.run(command + [self.path], capture_output=True, text=True)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("ratesim.traces:", missing.stderr)
        self.assertNotIn("Traceback", missing.stderr)
        subprocess.run([EXAMPLE, self.path, "100"], check=True, capture_output=True)
        listed = subprocess.run(command + [self.path], capture_output=True, text=True)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("output/rate: (201, 10)", listed.stdout)

    def _wait_for_samples(self, minimum):
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.05)
            try:
                with traces.open_run(self.path) as run:
                    n = traces.read(run, "output/rate")[0].size
                    if n >= minimum:
                        return n
            except (OSError, KeyError, ValueError):
                pass  # not created yet, or created but not yet in SWMR mode
        self.fail("the running simulation wrote no readable samples")


if __name__ == "__main__":
    unittest.main()
