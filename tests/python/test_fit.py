"""ratesim.fit: the same fit as `ratesim fit`, from numpy arrays or files, to the last digit
of `ratesim fit --json`; bad input is an exception of the module's classes; Ctrl-C stops it.
Run with PYTHONPATH=<build>/python and RATESIM_CLI=<build>/ratesim."""

import json
import os
import pathlib
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import h5py
import numpy as np

import ratesim

RATESIM = os.environ.get("RATESIM_CLI", "ratesim")


def mixture_data(n, seed):
    """Poisson samples of 4 classes on 16 pixels (each class bright on its own 4 pixels),
    as uint8 images (n, 16) and labels (n)."""
    rng = np.random.default_rng(seed)
    means = np.full((4, 16), 1.0)
    for k in range(4):
        means[k, 4 * k:4 * k + 4] = 12.0
    labels = rng.integers(0, 4, size=n)
    return rng.poisson(means[labels]).astype(np.uint8), labels.astype(np.int64)


# (options for ratesim.fit, the same for `ratesim fit`)
METHODS = {
    "em": ({"method": "em", "iterations": 15}, ["--method", "em", "--iterations", "15"]),
    "online": ({"method": "online", "epochs": 3, "learning_rate": 0.05},
               ["--method", "online", "--epochs", "3", "--learning-rate", "0.05"]),
    "spiking": ({"method": "spiking", "epochs": 2, "nu": 2.0, "tau_x": 5.0, "eta": 0.05},
                ["--method", "spiking", "--epochs", "2", "--nu", "2", "--tau-x", "5",
                 "--eta", "0.05"]),
}
COMMON = ({"components": 6, "A": 48.0, "seed": 7}, ["-C", "6", "-A", "48", "--seed", "7"])


class Fit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.train = mixture_data(300, 1)
        cls.test = mixture_data(100, 2)
        cls.files = {}
        for name, array in (("train_images", cls.train[0]), ("train_labels", cls.train[1]),
                            ("test_images", cls.test[0]), ("test_labels", cls.test[1])):
            cls.files[name] = os.path.join(cls.folder.name, f"{name}.npy")
            np.save(cls.files[name], array)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def cli(self, arguments):
        files = [f"--{name.replace('_', '-')}={path}" for name, path in self.files.items()]
        done = subprocess.run([RATESIM, "fit", *files, *arguments, "--json", "-q"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def arrays(self):
        return {"train_images": self.train[0], "train_labels": self.train[1],
                "test_images": self.test[0], "test_labels": self.test[1]}

    def assert_same_as_cli(self, result, expected):
        arrays = {"W", "B"} | ({"spikes"} if expected["method"] == "spiking" else set())
        self.assertEqual(set(result), set(expected) | arrays)
        for key, value in expected.items():
            if key == "seconds":
                continue
            with self.subTest(key=key):
                if key == "priors":
                    np.testing.assert_array_equal(result[key], value)
                else:
                    self.assertEqual(result[key], value)  # floats parsed from "%.17g": every bit

    def test_em_and_online_from_arrays_equal_the_cli_to_the_last_digit(self):
        for method, (options, arguments) in METHODS.items():
            with self.subTest(method=method):
                expected = self.cli(COMMON[1] + arguments)
                result = ratesim.fit(**self.arrays(), **COMMON[0], **options)
                self.assert_same_as_cli(result, expected)
                self.assertEqual(result["W"].shape, (6, 16))
                self.assertEqual(result["B"].shape, (4, 6))
                np.testing.assert_allclose(result["W"].sum(axis=1), 48.0, rtol=1e-12)
                self.assertIsInstance(result["priors"], np.ndarray)
                self.assertLess(result["error"], 0.2)  # the classes are easy to tell apart

    def test_paths_and_arrays_mixed_give_the_same_fit_and_the_output_file(self):
        options, arguments = METHODS["em"]
        expected = self.cli(COMMON[1] + arguments)
        output = os.path.join(self.folder.name, "fit.h5")
        files = dict(self.files, train_labels=pathlib.Path(self.files["train_labels"]),
                     test_images=self.test[0])
        result = ratesim.fit(**files, **COMMON[0], **options, output=output)
        self.assert_same_as_cli(result, expected)
        with h5py.File(output, "r") as f:
            np.testing.assert_array_equal(f["model/W"][...], result["W"])
            self.assertIn("ratesim.fit(", f.attrs["config"])
        with self.assertRaisesRegex(ratesim.UsageError, "exists; add overwrite=True"):
            ratesim.fit(**files, **COMMON[0], **options, output=output)
        ratesim.fit(**files, **COMMON[0], **options, output=output, overwrite=True)

    def test_spiking_returns_and_writes_the_spikes_of_its_last_presentation(self):
        options, _ = METHODS["spiking"]
        output = os.path.join(self.folder.name, "spiking.h5")
        result = ratesim.fit(**self.arrays(), **COMMON[0], **options, output=output)
        self.assertEqual(sorted(result["spikes"]), ["input", "output"])
        with h5py.File(output, "r") as f:
            for population, (times, ids) in result["spikes"].items():
                group = f["spikes"][population]
                np.testing.assert_array_equal(group["timestamps"][...], times)
                np.testing.assert_array_equal(group["node_ids"][...], ids)
                self.assertTrue(np.all(np.diff(times) >= 0))
                self.assertEqual(group["timestamps"].attrs["units"], "ms")
        # About A ν T = 48 · 2 · 50 input spikes in the last presentation of 50 ms.
        self.assertLess(abs(len(result["spikes"]["input"][0]) - 4800), 4 * 4800 ** 0.5)

    def test_progress_reports_every_step(self):
        reports = []
        result = ratesim.fit(**self.arrays(), **COMMON[0], method="online", epochs=3,
                             progress=lambda done, total: reports.append((done, total)))
        self.assertEqual(reports, [(0, 3), (1, 3), (2, 3), (3, 3)])
        self.assertEqual(len(result["curve_train"]), 4)

    def test_ctrl_c_stops_a_fit_with_keyboard_interrupt(self):
        # Each would take minutes: KeyboardInterrupt must come within the step or the
        # presentation that SIGINT arrives in, not at the end.
        for method, options in (("em", dict(iterations=10**8, anneal_start=0.01,
                                            anneal_iterations=10**8, tolerance=0.0)),
                                ("online", dict(epochs=10**6))):
            with self.subTest(method=method):
                timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
                started = time.monotonic()
                timer.start()
                with self.assertRaises(KeyboardInterrupt):
                    ratesim.fit(**self.arrays(), **COMMON[0], method=method, **options)
                timer.join()
                self.assertLess(time.monotonic() - started, 3.0)

    def test_a_sigint_handler_that_does_not_raise_lets_the_fit_go_on_to_the_same_bits(self):
        calls = []
        previous = signal.signal(signal.SIGINT, lambda *_: calls.append(1))
        try:
            timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            paused = ratesim.fit(**self.arrays(), **COMMON[0], method="online", epochs=150)
            timer.join()
        finally:
            signal.signal(signal.SIGINT, previous)
        self.assertEqual(calls, [1])
        straight = ratesim.fit(**self.arrays(), **COMMON[0], method="online", epochs=150)
        np.testing.assert_array_equal(paused["W"], straight["W"])
        self.assertEqual(paused["curve_train"], straight["curve_train"])

    def test_bad_input_is_an_error_of_the_module(self):
        data = self.arrays()
        cases = [
            (dict(method="xm"), ratesim.UnknownNameError, 'unknown method "xm"; known: em, online, ode'),
            (dict(componets=5), ratesim.ParameterError, r"unknown option\(s\) componets; known: components, A,"),
            (dict(components=2.5), ratesim.ParameterError, "components must be a whole number, got 2.5"),
            (dict(seed=-1), ratesim.ParameterError, "seed must be a whole number >= 0, got -1"),
            (dict(float32="yes"), ratesim.ParameterError, "float32 must be True or False"),
            (dict(components=0), ratesim.ParameterError, "components"),
            (dict(train_labels=data["train_labels"][:-1]), ratesim.InputError,
             "300 training images but 299 labels"),
            (dict(train_images=np.full((300, 16), np.nan)), ratesim.InputError,
             r"train_images \(an array\): values must be finite"),
            (dict(train_labels=-data["train_labels"] - 1), ratesim.InputError,
             "labels must be integers >= 0"),
            (dict(test_labels=None), ratesim.UsageError,
             "give both test_images and test_labels, or neither"),
            (dict(train_images=os.path.join(self.folder.name, "missing.npy")), ratesim.InputError,
             "missing.npy"),
            (dict(train_images=object()), ratesim.InputError, "must be a path or an array"),
        ]
        for change, error, message in cases:
            with self.subTest(change=list(change)), self.assertRaisesRegex(error, message):
                ratesim.fit(**dict(data, **change))

    def test_the_docstring_lists_every_option_with_its_default(self):
        self.assertIn("components = 100: number of mixture components C", ratesim.fit.__doc__)
        self.assertIn("method = 'em'", ratesim.fit.__doc__)
        self.assertIn("float32 = False", ratesim.fit.__doc__)


if __name__ == "__main__":
    unittest.main()
