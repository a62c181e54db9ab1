"""Data-parallel EM under mpirun, through the CLI: 2 and 3 ranks give the same bits as one
process (log-likelihoods, errors, curves, priors, units used and W), with IDX (by offsets)
and HDF5 (by hyperslab) input, with uniform and with learned priors; a rank whose slice is
bad stops every rank, naming itself; a rank killed stops the job. The data are synthetic: 6,500 training points in 4 groups of
2,048 (the last partial), so that 3 ranks hold 1, 1 and 2 groups.

Data-parallel circuit learning (fit --method online --batch-size B): 1, 2 and 3 ranks (and
2 threads) give the same bits as one process with the same batch size, with homeostasis
(the default, θ shared as W is), also when an epoch ends with a partial batch; a bad
training file stops every rank, naming one; method ode is refused under 2 ranks.

    /usr/bin/python3 tests/mpi/test_mpi.py build/ratesim [--no-mpi]
"""
import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np
import math

RATESIM = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "ratesim"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def lgamma_sum(Y):
    """Σ_d lgamma(y_dn + 1) per column, with the standard library's lgamma."""
    return np.array([sum(math.lgamma(v + 1.0) for v in column) for column in Y.T])


def write_idx(path, array, claim=None):
    array = np.asarray(array, dtype=np.uint8)
    dims = list(array.shape)
    if claim is not None:
        dims[0] = claim
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def make_data(folder):
    rng = np.random.default_rng(5)
    # 5x5 bars, Poisson counts around them: 10 components
    W = np.full((10, 25), 1.0)
    for k in range(5):
        W[k].reshape(5, 5)[k, :] += 12.0
        W[5 + k].reshape(5, 5)[:, k] += 12.0
    def sample(n):
        c = rng.integers(0, 10, n)
        return np.minimum(rng.poisson(W[c]), 255).reshape(n, 5, 5), c
    train, train_labels = sample(6500)
    test, test_labels = sample(2500)
    write_idx(f"{folder}/train-images.gz", train)
    write_idx(f"{folder}/train-labels.gz", train_labels)
    write_idx(f"{folder}/test-images.gz", test)
    write_idx(f"{folder}/test-labels.gz", test_labels)
    with h5py.File(f"{folder}/data.h5", "w") as f:
        f["train/images"] = train.reshape(6500, 25).astype(np.float64)
        f["train/labels"] = train_labels
        f["test/images"] = test.astype(np.float64)
        f["test/labels"] = test_labels
    # A training file that claims 6,500 images and holds 5,000: only the last of 3 ranks
    # (points 4,096 to 6,499) meets the missing ones.
    write_idx(f"{folder}/short-images.gz", train[:5000], claim=6500)
    return train.reshape(6500, 25).astype(np.float64)


def fit(folder, ranks, *extra, spec="idx", threads=1, out=None, check=True, timeout=300):
    if spec == "idx":
        data = ["--train-images", f"{folder}/train-images.gz",
                "--train-labels", f"{folder}/train-labels.gz",
                "--test-images", f"{folder}/test-images.gz",
                "--test-labels", f"{folder}/test-labels.gz"]
    else:
        data = ["--train-images", f"{folder}/data.h5:/train/images",
                "--train-labels", f"{folder}/data.h5:/train/labels",
                "--test-images", f"{folder}/data.h5:/test/images",
                "--test-labels", f"{folder}/data.h5:/test/labels"]
    command = [RATESIM, "fit", *data, "-C", "10", "-A", "40", "--iterations", "8",
               "--tolerance", "0", "--json", "-q", *extra]
    if out:
        command += ["-o", out]
    if ranks > 0:
        command = ["mpirun", "-np", str(ranks), "--oversubscribe"] + command
    env = dict(ENV, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({p.returncode}):\n{p.stderr}")
    return p


def numbers(result):
    d = json.loads(result.stdout)
    return {k: d[k] for k in ("loglik_train", "loglik_test", "error", "train_error",
                              "curve_train", "curve_test", "priors", "units_used")}


class DataParallelEM(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.folder = cls.tmp.name
        cls.train = make_data(cls.folder)
        cls.serial = fit(cls.folder, 0, out=f"{cls.folder}/serial.h5")
        cls.learned = fit(cls.folder, 0, "--priors", "learned", out=f"{cls.folder}/learned.h5")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def same_bits(self, result, out, serial="serial"):
        assert_same_bits(self, result, out, getattr(self, serial), f"{self.folder}/{serial}.h5")

    def test_two_and_three_ranks_and_two_threads_give_the_same_bits(self):
        for ranks, spec, threads in ((2, "idx", 1), (3, "idx", 1), (3, "hdf5", 1), (0, "idx", 2),
                                     (2, "hdf5", 2)):
            with self.subTest(ranks=ranks, spec=spec, threads=threads):
                out = f"{self.folder}/r{ranks}-{spec}-{threads}.h5"
                self.same_bits(fit(self.folder, ranks, spec=spec, threads=threads, out=out), out)

    def test_learned_priors_are_the_same_bits_on_two_and_three_ranks(self):
        for ranks, threads in ((2, 1), (3, 1), (0, 2)):
            with self.subTest(ranks=ranks, threads=threads):
                out = f"{self.folder}/learned-r{ranks}-{threads}.h5"
                result = fit(self.folder, ranks, "--priors", "learned", threads=threads, out=out)
                self.same_bits(result, out, serial="learned")
        priors = np.array(numbers(self.learned)["priors"])
        self.assertAlmostEqual(priors.sum(), 1.0, delta=1e-12)
        self.assertGreater(np.ptp(priors), 1e-4)  # learned, not uniform

    def test_the_log_likelihood_is_that_of_the_learned_weights(self):
        # An independent computation in numpy of the mean ln p(y) of the normalised
        # training data under the W (and priors) that the run wrote.
        for run, name in ((self.serial, "serial"), (self.learned, "learned")):
            W, _, priors = weights(f"{self.folder}/{name}.h5")
            Y = self.train.T
            D, A = Y.shape[0], 40.0
            Y = (A - D) * Y / Y.sum(axis=0) + 1.0
            L = np.log(W) @ Y - W.sum(axis=1)[:, None] + np.log(priors)[:, None]
            top = L.max(axis=0)
            lse = top + np.log(np.exp(L - top).sum(axis=0))
            expected = np.mean(lse - lgamma_sum(Y))
            got = numbers(run)["loglik_train"]
            self.assertAlmostEqual(got, expected, delta=1e-10 * abs(expected), msg=name)
            # units used: the components that are the argmax of >= 0.1/C of the points
            wins = np.bincount(L.argmax(axis=0), minlength=W.shape[0])
            self.assertEqual(numbers(run)["units_used"],
                             int((wins / Y.shape[1] >= 0.1 / W.shape[0]).sum()), name)

    def test_a_bad_slice_stops_every_rank_naming_it(self):
        start = time.monotonic()
        p = subprocess.run(
            ["mpirun", "-np", "3", "--oversubscribe", RATESIM, "fit",
             "--train-images", f"{self.folder}/short-images.gz",
             "--train-labels", f"{self.folder}/train-labels.gz", "-C", "10", "-A", "40", "-q"],
            capture_output=True, text=True, env=ENV, timeout=120)
        self.assertEqual(p.returncode, 3, p.stderr)  # bad input data, from MPI_Abort
        self.assertIn("rank 2 of 3", p.stderr)
        self.assertIn("truncated", p.stderr)
        self.assertNotIn("rank 0 of 3", p.stderr)
        self.assertLess(time.monotonic() - start, 60)

    def test_a_killed_rank_stops_the_job(self):
        p = subprocess.Popen(
            ["mpirun", "-np", "2", "--oversubscribe", RATESIM, "fit",
             "--train-images", f"{self.folder}/train-images.gz",
             "--train-labels", f"{self.folder}/train-labels.gz", "-C", "10", "-A", "40",
             # annealed all the way: no convergence test ends it early
             "--iterations", "100000", "--anneal-start", "0.5", "--anneal-iterations", "100000",
             "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        ranks = []
        deadline = time.monotonic() + 60
        while len(ranks) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            ranks = children(p.pid, os.path.basename(RATESIM))
        self.assertEqual(len(ranks), 2, "the ranks did not start")
        time.sleep(1.0)  # into the EM iterations
        self.assertIsNone(p.poll(), "the job ended before a rank was killed")
        os.kill(ranks[-1], signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("signal 9", err)


def weights(path):
    with h5py.File(path, "r") as f:
        return f["model/W"][...], f["model/B"][...], f["model/priors"][...]


def assert_same_bits(test, result, out, reference, reference_out):
    """Every number of the JSON (all 17 digits) and W, B and the priors bit for bit."""
    test.assertEqual(numbers(result), numbers(reference))
    (W, B, priors), (W1, B1, priors1) = weights(out), weights(reference_out)
    test.assertTrue(np.array_equal(W, W1), f"W differs by {np.abs(W - W1).max()}")
    test.assertTrue(np.array_equal(B, B1))
    test.assertTrue(np.array_equal(priors, priors1))


# The circuit in mini-batches of 100 (ε · B <= 1): 65 batches an epoch, shared between ranks.
ONLINE = ["--method", "online", "--batch-size", "100", "--learning-rate", "0.01", "--epochs", "2"]
# Batches of 30: 6,500 = 216 · 30 + 20, so every epoch ends with a partial batch. (Learned
# priors, intrinsic = priors, step one presentation at a time: fit refuses mini-batches.)
PARTIAL = ["--method", "online", "--batch-size", "30", "--learning-rate", "0.02", "--epochs", "1",
           "--intrinsic", "homeostasis"]


class DataParallelOnline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.folder = cls.tmp.name
        make_data(cls.folder)
        cls.serial = fit(cls.folder, 0, *ONLINE, out=f"{cls.folder}/online.h5")
        cls.partial = fit(cls.folder, 0, *PARTIAL, out=f"{cls.folder}/partial.h5")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_one_two_and_three_ranks_and_two_threads_give_the_same_bits(self):
        for ranks, threads, spec in ((1, 1, "idx"), (2, 1, "idx"), (3, 1, "idx"), (3, 1, "hdf5"),
                                     (0, 2, "idx"), (2, 2, "idx")):
            with self.subTest(ranks=ranks, threads=threads, spec=spec):
                out = f"{self.folder}/online-r{ranks}-{threads}-{spec}.h5"
                result = fit(self.folder, ranks, *ONLINE, spec=spec, threads=threads, out=out)
                assert_same_bits(self, result, out, self.serial, f"{self.folder}/online.h5")
        curve = numbers(self.serial)["curve_train"]
        self.assertEqual(len(curve), 3)
        self.assertGreater(curve[-1], curve[0] + 1.0)  # it learned

    def test_partial_batches_are_the_same_bits_on_one_two_and_three_ranks(self):
        for ranks in (1, 2, 3):
            with self.subTest(ranks=ranks):
                out = f"{self.folder}/partial-r{ranks}.h5"
                result = fit(self.folder, ranks, *PARTIAL, out=out)
                assert_same_bits(self, result, out, self.partial, f"{self.folder}/partial.h5")
        # it learned, the biases too
        self.assertGreater(numbers(self.partial)["curve_train"][-1], numbers(self.partial)["curve_train"][0])

    def test_a_bad_training_file_stops_every_rank_naming_one(self):
        start = time.monotonic()
        p = subprocess.run(
            ["mpirun", "-np", "3", "--oversubscribe", RATESIM, "fit",
             "--train-images", f"{self.folder}/short-images.gz",
             "--train-labels", f"{self.folder}/train-labels.gz", "-C", "10", "-A", "40", "-q",
             *ONLINE],
            capture_output=True, text=True, env=ENV, timeout=120)
        self.assertEqual(p.returncode, 3, p.stderr)  # bad input data, from MPI_Abort
        self.assertRegex(p.stderr, r"rank [0-2] of 3: .*truncated")
        self.assertLess(time.monotonic() - start, 60)

    def test_run_and_rerun_are_refused_under_two_ranks(self):
        config = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "keck2012.toml")
        for command in (["run", config], ["rerun", "x.h5", "-o", "y.h5"]):
            p = subprocess.run(["mpirun", "-np", "2", "--oversubscribe", RATESIM, *command, "-q"],
                               capture_output=True, text=True, env=ENV, timeout=120, cwd=self.folder)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("an experiment runs in one process, not under mpirun", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.folder, "keck2012.h5")))

    def test_ode_is_refused_under_two_ranks(self):
        p = fit(self.folder, 2, "--method", "ode", "--epochs", "1", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("method \"ode\" runs in one process", p.stderr)


def children(parent, name):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if int(fields[1]) == parent and comm == name[:15]:
            found.append(int(pid))
    return sorted(found)


if __name__ == "__main__":
    if "--no-mpi" in sys.argv:
        print("this build has no MPI: skipped")
        sys.exit(77)
    unittest.main(argv=sys.argv[:1], verbosity=2)
