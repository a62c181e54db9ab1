"""`ratesim sweep` through the CLI: 8 small runs over 2 MPI ranks give 8 files and a
summary; a sweep killed (SIGKILL, its runs with it) after its first runs finished and
started again runs only the unfinished ones, and ends with the same files a sweep never
stopped writes; Ctrl-C stops the runs with their checkpoints, and they resume to the
bits of an unstopped run; a run that fails is recorded as failed and the others go on.

    /usr/bin/python3 tests/mpi/test_sweep.py build/ratesim [--no-mpi]

Without MPI (--no-mpi) the MPI cases are skipped and the rest runs over local processes.
"""
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

RATESIM = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "ratesim"
MPI = "--no-mpi" not in sys.argv
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

CONFIG = """
seed = 3
[population.input]
model = "feedforward_inhibition"
size = 25
A = 40.0
[population.output]
model = "softmax_competition"
size = 10
[stimulus.input]
source = "bars"
samples = 300
duration = 1.0
order = "shuffled"
seed = 7
[projection.ff]
pre = "input"
post = "output"
weights = { init = "data_mean", noise = 0.5, row_sum = 40.0 }
rule = { name = "synaptic_scaling", tau = 50.0 }
[run]
regime = "quasi_static"
presentations = 30000
[[record]]
projection = "ff"
what = "weights"
every = 1000.0
"""

GRID = ["--grid", "projection.ff.rule.tau=40,50,60,70", "--grid", "seed=1,2"]
NAMES = [f"projection.ff.rule.tau={t}_seed={s}" for t in (40, 50, 60, 70) for s in (1, 2)]


def sweep(folder, out, *extra, ranks=0, jobs=2, wait=True, timeout=600):
    command = [RATESIM, "sweep", f"{folder}/bars.toml", *GRID, "--out", out,
               "--checkpoint-every", "5000", *extra]
    if ranks:
        command = ["mpirun", "-np", str(ranks), "--oversubscribe"] + command
    else:
        command += ["-j", str(jobs)]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=ENV, start_new_session=True)
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=timeout)


def summary(out):
    with open(f"{out}/summary.csv") as f:
        return list(csv.DictReader(f))


def final_weights(path):
    with h5py.File(path, "r") as f:
        return f["ff/weights/data"][...]


class Sweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.folder = cls.tmp.name
        with open(f"{cls.folder}/bars.toml", "w") as f:
            f.write(CONFIG)
        # The reference: every run once, never stopped, over local processes.
        cls.reference = f"{cls.folder}/reference"
        p = sweep(cls.folder, cls.reference, "--metric", "ff/weights", "--metric", "output/rate")
        assert p.returncode == 0, p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_complete(self, out):
        rows = summary(out)
        self.assertEqual([r["status"] for r in rows], ["done"] * 8)
        self.assertEqual([r["output"] for r in rows], [n + ".h5" for n in NAMES])
        self.assertEqual([(r["projection.ff.rule.tau"], r["seed"]) for r in rows],
                         [(t, s) for t in "40 50 60 70".split() for s in "12"])
        for name in NAMES:
            W = final_weights(f"{out}/{name}.h5")
            self.assertEqual(W.shape, (31, 10, 25))
            # Synaptic scaling keeps every row's sum at A = 40.
            np.testing.assert_allclose(W[-1].sum(axis=1), 40.0, rtol=1e-12)
            # The same bits as the run never stopped.
            self.assertTrue(np.array_equal(W, final_weights(f"{self.reference}/{name}.h5")), name)

    def test_the_reference_differs_between_runs(self):
        # The comparisons below could not fail if every run wrote the same weights.
        a = final_weights(f"{self.reference}/{NAMES[0]}.h5")
        b = final_weights(f"{self.reference}/{NAMES[2]}.h5")
        self.assertFalse(np.array_equal(a, b))
        with open(f"{self.reference}/summary.md") as f:
            self.assertEqual(len(f.read().strip().splitlines()), 2 + 8)
        # --metric: the mean of a recording's last sample (here W, whose rows synaptic
        # scaling keeps at 40 over 25 inputs), or (none) for what a run did not record.
        for row in summary(self.reference):
            W = final_weights(f"{self.reference}/{row['output']}")
            self.assertAlmostEqual(float(row["ff/weights (last, mean)"]), W[-1].mean(), delta=1e-14)
            self.assertAlmostEqual(W[-1].mean(), 1.6, delta=1e-12)
            self.assertEqual(row["output/rate (last, mean)"], "(none)")

    @unittest.skipUnless(MPI, "this build has no MPI")
    def test_eight_runs_over_two_ranks(self):
        out = f"{self.folder}/mpi"
        p = sweep(self.folder, out, ranks=2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("rank 1 of 2", p.stderr)
        self.check_complete(out)

    def test_killed_and_started_again_runs_only_the_unfinished(self):
        out = f"{self.folder}/killed"
        p = sweep(self.folder, out, wait=False)
        deadline = time.monotonic() + 300
        done = []
        while len(done) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
            done = [n for n in NAMES if os.path.exists(f"{out}/{n}.done")]
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        done = [n for n in NAMES if os.path.exists(f"{out}/{n}.done")]
        self.assertGreaterEqual(len(done), 2)
        self.assertLess(len(done), 8, "the sweep ended before it was killed: make runs longer")
        before = {n: os.stat(f"{out}/{n}.h5").st_mtime_ns for n in done}
        again = sweep(self.folder, out, ranks=2 if MPI else 0)
        self.assertEqual(again.returncode, 0, again.stderr)
        for n in NAMES:
            self.assertEqual(f"{n}: finished before, skipped" in again.stderr, n in done, n)
        for n in done:  # untouched
            self.assertEqual(os.stat(f"{out}/{n}.h5").st_mtime_ns, before[n])
        self.check_complete(out)

    def test_ctrl_c_stops_the_runs_with_their_checkpoints_and_they_resume(self):
        out = f"{self.folder}/interrupted"
        longer = ["--set", "run.presentations=300000"]
        p = sweep(self.folder, out, *longer, wait=False)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not os.path.exists(f"{out}/{NAMES[0]}.ckpt.h5"):
            time.sleep(0.05)
        time.sleep(0.2)
        os.killpg(p.pid, signal.SIGINT)  # as a terminal does: to the whole foreground group
        _, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 130, err)
        first = summary(out)[0]
        self.assertEqual((first["status"], first["detail"]), ("unfinished", "checkpoint kept"))
        # Started again (here only the first point), it resumes and ends with the bits of a
        # run never stopped.
        again = subprocess.run(
            [RATESIM, "sweep", f"{self.folder}/bars.toml", "--grid", "projection.ff.rule.tau=40",
             "--grid", "seed=1", "--out", out, "--checkpoint-every", "5000", *longer],
            capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("resumed from its checkpoint", again.stderr)
        whole = subprocess.run(
            [RATESIM, "run", f"{self.folder}/bars.toml", "-q", "--set", "projection.ff.rule.tau=40",
             "--set", "seed=1", *longer, "--set", f'output.file="{self.folder}/whole.h5"'],
            capture_output=True, text=True, env=ENV, timeout=300, cwd=self.folder)
        self.assertEqual(whole.returncode, 0, whole.stderr)
        self.assertTrue(np.array_equal(final_weights(f"{out}/{NAMES[0]}.h5"),
                                       final_weights(f"{self.folder}/whole.h5")))

    def test_a_failing_run_is_recorded_and_the_others_go_on(self):
        out = f"{self.folder}/failing"
        p = subprocess.run(
            [RATESIM, "sweep", f"{self.folder}/bars.toml", "--grid",
             "projection.ff.rule.tau=50,-5", "--set", "run.presentations=300", "--out", out],
            capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(p.returncode, 1, p.stderr)
        rows = summary(out)
        self.assertEqual([(r["projection.ff.rule.tau"], r["status"], r["detail"]) for r in rows],
                         [("50", "done", ""), ("-5", "failed", "exit 2")])
        with open(f"{out}/projection.ff.rule.tau=-5.log") as f:
            self.assertIn("tau", f.read())

    def test_a_missing_experiment_or_a_misspelt_key_is_a_usage_error_before_any_run(self):
        for config, grid in ((f"{self.folder}/missing.toml", "seed=1,2"),
                             (f"{self.folder}/bars.toml", "projection.ff.rule.tauu=1,2")):
            out = f"{self.folder}/refused"
            p = subprocess.run([RATESIM, "sweep", config, "--grid", grid, "--out", out],
                               capture_output=True, text=True, env=ENV, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertFalse(os.path.exists(out), p.stderr)

    def test_unset_reaches_every_run_and_a_missing_key_is_refused_before_any_run(self):
        out = f"{self.folder}/unset"
        p = subprocess.run(
            [RATESIM, "sweep", f"{self.folder}/bars.toml", "--grid", "seed=1,2", "--unset",
             "run.presentations", "--set", "run.duration=300", "--out", out],
            capture_output=True, text=True, env=ENV, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([r["status"] for r in summary(out)], ["done", "done"])
        refused = f"{self.folder}/unset-refused"
        p = subprocess.run(
            [RATESIM, "sweep", f"{self.folder}/bars.toml", "--grid", "seed=1,2", "--unset",
             "run.presentatons", "--out", refused],
            capture_output=True, text=True, env=ENV, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('no key "run.presentatons"', p.stderr)
        self.assertFalse(os.path.exists(refused), p.stderr)

    def test_a_bad_grid_is_a_usage_error(self):
        for grid in ("tau", "tau=", "tau=1,,2", "=1"):
            p = subprocess.run([RATESIM, "sweep", f"{self.folder}/bars.toml", "--grid", grid,
                                "--out", f"{self.folder}/bad"],
                               capture_output=True, text=True, env=ENV, timeout=60)
            self.assertEqual(p.returncode, 2, grid)
            self.assertIn("--grid", p.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
