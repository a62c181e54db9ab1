"""The Python module: the same engine as C++, numpy views without copies, Python rules,
recorders, experiments, errors. Run with PYTHONPATH=<build>/python."""

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import ratesim
from ratesim import traces

SOURCE = os.environ.get("RATESIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def circuit(rule="synaptic_scaling", seed=1, **rule_parameters):
    rng = np.random.default_rng(seed)
    D, C, A = 16, 4, 48.0
    patterns = rng.uniform(0.5, 10.0, size=(50, D))
    W0 = rng.uniform(1.0, 2.0, size=(C, D))
    W0 *= A / W0.sum(axis=1, keepdims=True)
    net = ratesim.Network()
    net.add_population("feedforward_inhibition", "input", size=D, A=A)
    net.add_population("softmax_competition", "output", size=C)
    net.connect("input", "output", "ff", W0, rule=rule, **rule_parameters)
    net.stimulate_patterns("input", patterns, duration=1.0, shuffle=True, seed=3)
    return net, W0, patterns


class PythonScaling(ratesim.Rule):
    """Synaptic scaling written in Python: s_c (y_d - W_cd) / tau."""

    name = "python_scaling"

    def __init__(self, tau):
        self.tau = tau

    def derivative(self, W, pre, post):
        return post[:, None] * (pre[None, :] - W) / self.tau


class PythonHomeostasis(ratesim.IntrinsicRule):
    """Homeostasis written in Python: d(bias)/dt = (1/C - rate) / tau."""

    name = "python_homeostasis"
    variable = "bias"

    def __init__(self, tau):
        self.tau = tau

    def derivative(self, theta, rates):
        return (1.0 / len(rates) - rates) / self.tau


class Module(unittest.TestCase):
    def test_weights_are_views_and_sums_stay_at_A(self):
        net, W0, _ = circuit(tau=50.0)
        sim = ratesim.QuasiStaticSimulation(net)
        W = net.weights("ff")
        self.assertTrue(np.shares_memory(W, net.state()))
        np.testing.assert_array_equal(W, W0)
        sim.run_presentations(2000)
        self.assertFalse(np.array_equal(W, W0))  # the view follows the learning
        np.testing.assert_allclose(W.sum(axis=1), 48.0, rtol=1e-9)
        self.assertEqual(sim.presentations, 2000)
        self.assertEqual(sim.time, 2000.0)

    def test_python_rule_gives_the_same_weights_as_the_builtin(self):
        results = []
        for rule in ("synaptic_scaling", PythonScaling(50.0)):
            net, _, _ = circuit(rule=rule, **({"tau": 50.0} if isinstance(rule, str) else {}))
            ratesim.QuasiStaticSimulation(net).run_presentations(300)
            results.append(np.array(net.weights("ff")))
        np.testing.assert_allclose(results[1], results[0], rtol=1e-12)

    def test_intrinsic_rules_by_name_and_from_python_give_the_same_biases(self):
        biases = []
        for rule in ("homeostasis", PythonHomeostasis(20.0)):
            net, _, _ = circuit(tau=50.0)
            net.adapt("output", rule, **({"tau": 20.0} if isinstance(rule, str) else {}))
            ratesim.QuasiStaticSimulation(net).run_presentations(300)
            biases.append(np.array(net.variable("output", "bias")))
        self.assertIn("priors", ratesim.intrinsic_rules())
        self.assertGreater(np.ptp(biases[0]), 0.0)
        self.assertAlmostEqual(biases[0].sum(), 0.0, places=12)  # homeostasis keeps the sum
        np.testing.assert_allclose(biases[1], biases[0], rtol=1e-12, atol=1e-14)
        names = [d["name"] for d in ratesim.describe("intrinsic", "homeostasis")]
        self.assertEqual(names, ["tau", "target"])
        net, _, _ = circuit()
        with self.assertRaises(ratesim.ParameterError):
            net.adapt("output", object())

    def test_a_python_rule_reads_the_postsynaptic_prior_as_the_builtin_does(self):
        # Synaptic scaling divided by the relative prior (divide_by = "prior"), written in
        # Python with post_variable: the same weights as the built-in rule.
        class DividedScaling(PythonScaling):
            post_variable = "prior"

            def derivative(self, W, pre, post, prior):
                return (post * prior.mean() / prior)[:, None] * (pre[None, :] - W) / self.tau

        results = []
        for rule in ("synaptic_scaling", DividedScaling(50.0)):
            parameters = {"tau": 50.0, "divide_by": "prior"} if isinstance(rule, str) else {}
            net, _, _ = circuit(rule=rule, **parameters)
            net.adapt("output", "priors", tau=20.0)
            ratesim.QuasiStaticSimulation(net).run_presentations(300)
            results.append(np.array(net.weights("ff")))
            self.assertGreater(np.ptp(net.variable("output", "prior")), 1e-3)
        np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
        # Without the variable in the population: refused, naming it.
        net, _, _ = circuit(rule=DividedScaling(50.0))
        with self.assertRaisesRegex(ratesim.ParameterError, 'reads the variable "prior"'):
            ratesim.QuasiStaticSimulation(net)

    def test_ode_regime_and_state_variables(self):
        net = ratesim.Network()
        net.add_population("rate_population", "u", size=2, tau=1.0, transfer="tanh")
        net.stimulate_constant("u", np.array([0.5, -1.0]))
        sim = ratesim.OdeSimulation(net, stepper="rk4", dt=0.01)
        sim.run(20.0)
        np.testing.assert_allclose(net.variable("u", "u"), [0.5, -1.0], atol=1e-7)
        np.testing.assert_allclose(net.rates("u"), np.tanh([0.5, -1.0]), atol=1e-7)

    def test_recorder_writes_the_documented_layout(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.h5")
            net, _, _ = circuit(tau=50.0)
            sim = ratesim.QuasiStaticSimulation(net)
            out = ratesim.Recorder(path, seed=5)
            out.record("output", "rate", every=1.0)
            out.record_weights("ff", every=10.0)
            sim.attach(out)
            sim.run_presentations(100)
            out.close()
            with traces.open_run(path) as run:
                self.assertEqual(traces.check_layout(run), [])
                t, rates = traces.read(run, "output/rate")
                self.assertEqual(rates.shape, (101, 4))
                _, w = traces.read(run, "ff/weights")
                np.testing.assert_array_equal(w[-1], net.weights("ff"))

    def test_a_file_written_from_python_says_what_ran(self):
        import tomllib

        import h5py

        with tempfile.TemporaryDirectory() as d:
            net, _, _ = circuit(tau=50.0)
            sim = ratesim.simulation(net, "quasi_static", dt=0.5)
            sim.run(2.0)
            path, given = os.path.join(d, "run.h5"), os.path.join(d, "given.h5")
            out, kept = ratesim.Recorder(path), ratesim.Recorder(given, config="[run]\nx = 1\n", seed=9)
            for r in (out, kept):
                r.record("output", "rate", every=1.0)
                sim.attach(r)
            sim.run(4.0)
            del out, kept
            structure = ('feedforward_inhibition "input": 16 units, 17 state entries\n'
                         'softmax_competition "output": 4 units, 4 state entries\n'
                         'projection "ff": "input" -> "output", 4 x 16, current log_weight, rule synaptic_scaling\n')
            with h5py.File(path, "r") as f:
                described = tomllib.loads(f.attrs["config"])
                self.assertEqual(f.attrs["structure"], structure)
                self.assertEqual(f.attrs["seed"], 1)
                self.assertEqual(f.attrs["rerunnable"],
                                 "no: the simulation had run 4 steps (t = 2 ms) before the recorder was attached")
            # An experiment file's description (docs/python.md, "Rerunning").
            self.assertEqual(described["run"], {"regime": "quasi_static", "dt": 0.5, "duration": 0.0})
            self.assertEqual(described["population"]["input"],
                             {"model": "feedforward_inhibition", "size": 16, "A": 48.0})
            self.assertEqual(described["projection"]["ff"]["rule"], {"name": "synaptic_scaling", "tau": 50})
            self.assertEqual(described["stimulus"]["input"]["source"], "file")
            self.assertEqual(described["record"], [{"what": "variable", "population": "output",
                                                    "variable": "rate", "every": 1}])
            with h5py.File(given, "r") as f:  # a config given is kept as given
                self.assertEqual(f.attrs["config"], "[run]\nx = 1\n")
                self.assertEqual(f.attrs["seed"], 9)
                self.assertEqual(f.attrs["structure"], structure)

    def test_a_checkpoint_resumes_bit_for_bit_in_a_new_simulation(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.h5")
            straight, _, _ = circuit(tau=50.0)
            ratesim.QuasiStaticSimulation(straight, batch_size=3).run_presentations(201)
            first, _, _ = circuit(tau=50.0)
            sim = ratesim.QuasiStaticSimulation(first, batch_size=3)
            sim.run_presentations(99)  # a run ends with its mini-batch applied: 99 = 33 x 3
            sim.save_checkpoint(path)
            resumed, _, _ = circuit(tau=50.0)
            sim = ratesim.QuasiStaticSimulation(resumed, batch_size=3)
            sim.restore_checkpoint(path)
            self.assertEqual(sim.steps, 99)
            sim.run_presentations(102)
            np.testing.assert_array_equal(resumed.weights("ff"), straight.weights("ff"))
            with self.assertRaisesRegex(ratesim.UsageError, "batch_size 3"):
                ratesim.QuasiStaticSimulation(circuit(tau=50.0)[0]).restore_checkpoint(path)

    def test_an_experiment_stops_and_resumes_from_python(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(SOURCE, "examples", "keck2012.toml")
            out = os.path.join(d, "k.h5")
            overrides = ["run.presentations=400", f"output.file={out}", "record.0.every=100.0"]
            ratesim.run_experiment(config, overrides)
            with traces.open_run(out) as run:
                _, straight = traces.read(run, "ff/weights")
            ck = os.path.join(d, "k.ckpt.h5")
            t = ratesim.run_experiment(config, overrides, checkpoint=ck, stop_at=150.0)
            self.assertEqual(t, 150.0)
            self.assertEqual(ratesim.run_experiment(resume=ck), 400.0)
            with traces.open_run(out) as run:
                times, resumed = traces.read(run, "ff/weights")
            self.assertEqual(list(times), [0.0, 100.0, 200.0, 300.0, 400.0])
            np.testing.assert_array_equal(resumed, straight)

    def test_an_experiment_key_is_removed_with_unset(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(SOURCE, "examples", "keck2012.toml")
            out = os.path.join(d, "k.h5")
            # keck2012.toml gives presentations: a duration needs it removed first
            overrides = ["run.duration=200", f"output.file={out}"]
            with self.assertRaisesRegex(ratesim.ConfigError, "exactly one of duration"):
                ratesim.run_experiment(config, overrides)
            self.assertEqual(ratesim.run_experiment(config, overrides, unset=["run.presentations"]), 200.0)
            with self.assertRaisesRegex(ratesim.ConfigError, 'no key "run.presentatons" to remove'):
                ratesim.run_experiment(config, overrides, unset=["run.presentatons"])

    def test_errors_are_ratesim_exceptions_with_context(self):
        net = ratesim.Network()
        with self.assertRaisesRegex(ratesim.ParameterError, r'feedforward_inhibition "input": A must be > D = 16, got 10'):
            net.add_population("feedforward_inhibition", "input", size=16, A=10.0)
        with self.assertRaisesRegex(ratesim.UnknownNameError, r'unknown population model "lif"'):
            net.add_population("lif", "x", size=3)
        with self.assertRaisesRegex(ratesim.ParameterError, "unknown parameter"):
            net.add_population("softmax_competition", "out", size=3, tua_u=2.0)
        with self.assertRaisesRegex(ratesim.UsageError, "cannot load it"):
            ratesim.load_plugin("/nonexistent/libnothing.so")
        self.assertTrue(issubclass(ratesim.ConfigError, ratesim.UsageError))
        self.assertTrue(issubclass(ratesim.Error, RuntimeError))

    def test_star_import_leaves_the_builtins_alone(self):
        namespace = {}
        exec("from ratesim import *", namespace)
        exported = {name for name in namespace if not name.startswith("__")}
        self.assertEqual(exported, set(ratesim.__all__))
        builtins = set(dir(__builtins__)) if isinstance(__builtins__, type(os)) else set(__builtins__)
        self.assertEqual(exported & builtins, set())
        self.assertIn("UnknownNameError", exported)

    def test_error_classes_mirror_the_engine_and_python(self):
        for cls, python in [(ratesim.UnknownNameError, LookupError), (ratesim.NumericalError, ArithmeticError),
                            (ratesim.ParameterError, ValueError), (ratesim.InputError, ValueError),
                            (ratesim.UsageError, RuntimeError)]:
            self.assertTrue(issubclass(cls, ratesim.Error) and issubclass(cls, python), cls)
        with self.assertRaisesRegex(LookupError, 'unknown stepper "leapfrog"'):
            ratesim.OdeSimulation(circuit()[0], stepper="leapfrog")

        class Diverging(ratesim.Rule):
            def derivative(self, W, pre, post):
                return np.full_like(W, np.nan)

        net, _, _ = circuit(rule=Diverging())
        with self.assertRaises(ratesim.NumericalError):
            ratesim.QuasiStaticSimulation(net).run_presentations(5)

    def test_messages_use_the_names_python_users_know(self):
        with tempfile.TemporaryDirectory() as d:
            for mode, path in [("append", os.path.join(d, "missing.h5")), ("create", d)]:
                with self.assertRaises(ratesim.UsageError) as caught:
                    sim = ratesim.QuasiStaticSimulation(circuit()[0])
                    out = ratesim.Recorder(path, mode=mode)
                    out.record("output", "rate")
                    sim.attach(out)
                    sim.run_presentations(1)
                self.assertTrue(str(caught.exception).startswith('Recorder "'), caught.exception)
                self.assertNotIn("::", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            ratesim.QuasiStaticSimulation(circuit()[0]).attach(3)
        self.assertNotIn("ratesim::", str(caught.exception))
        with self.assertRaisesRegex(ratesim.ParameterError, "^QuasiStaticSimulation: batch_size"):
            ratesim.QuasiStaticSimulation(circuit()[0], batch_size=0)

    def test_reprs_show_names_and_sizes(self):
        net, _, _ = circuit(tau=50.0)
        self.assertEqual(
            repr(net),
            "<ratesim.Network: populations input (feedforward_inhibition, 16 units), output "
            "(softmax_competition, 4 units); projections ff input -> output (4 x 16, log_weight, "
            "rule synaptic_scaling)>",
        )
        sim = ratesim.QuasiStaticSimulation(net, batch_size=2)
        sim.run_presentations(10)
        self.assertIn("; 85 state values>", repr(net))
        self.assertEqual(
            repr(sim),
            "<ratesim.QuasiStaticSimulation: 10 presentations, batch_size 2, t = 10 ms (10 steps "
            "of 1 ms); 2 populations, 1 projections>",
        )
        exact, _, _ = circuit(tau=50.0)
        self.assertIn(
            "0 presentations, batch_size 1, exact_log, t = 0 ms",
            repr(ratesim.QuasiStaticSimulation(exact, exact_log=True)),
        )
        ode = ratesim.Network()
        ode.add_population("rate_population", "u", size=2)
        self.assertIn("OdeSimulation: euler, t = 0 ms", repr(ratesim.OdeSimulation(ode, stepper="euler")))
        # euler follows ln W by a series unless exact_log: the same trajectory within 1e-12.
        ends = []
        for exact_log in (False, True):
            net, _, _ = circuit(tau=20.0)
            sim = ratesim.OdeSimulation(net, stepper="euler", dt=0.1, exact_log=exact_log)
            self.assertEqual("exact_log, " in repr(sim), exact_log)
            sim.run(150.0)
            ends.append(net.weights("ff"))
        np.testing.assert_allclose(ends[0], ends[1], rtol=1e-12, atol=0)
        with tempfile.TemporaryDirectory() as d:
            out = ratesim.Recorder(os.path.join(d, "run.h5"))
            out.record("output", "rate", every=1.0)
            out.record_weights("ff", every=10.0)
            out.record_weight_sums("ff", every=10.0)
            self.assertEqual(repr(out), f'<ratesim.Recorder "{out.path}": output/rate, ff/weights, '
                                        "metrics/weight_sum_ff>")

    def test_every_public_class_and_function_says_what_it_does(self):
        undocumented = []

        def described(doc):
            # pybind11 starts a docstring with the signature; the description follows it.
            text = (doc or "").strip()
            if text.split("(")[0].isidentifier() and "\n\n" in text:
                text = text.split("\n\n", 1)[1]
            elif text.split("(")[0].isidentifier() and "->" in text.split("\n")[0]:
                text = ""
            return len(text) > 10

        for name in ratesim.__all__:
            thing = getattr(ratesim, name)
            if not described(thing.__doc__):
                undocumented.append(name)
            if isinstance(thing, type) and not issubclass(thing, BaseException):
                for attribute, member in vars(thing).items():
                    if attribute.startswith("_") or attribute in ("name", "constrain", "post_spike"):
                        continue
                    if not described(getattr(member, "__doc__", None)):
                        undocumented.append(f"{name}.{attribute}")
        self.assertEqual(undocumented, [])

    def test_experiment_files_run_from_python(self):
        with tempfile.TemporaryDirectory() as d:
            t = ratesim.run_experiment(
                os.path.join(SOURCE, "examples", "keck2012.toml"),
                ["run.presentations=100", f"output.file={os.path.join(d, 'k.h5')}"],
            )
            self.assertEqual(t, 100.0)
            with self.assertRaises(ratesim.ConfigError):
                ratesim.run_experiment(os.path.join(SOURCE, "examples", "keck2012.toml"), ["run.regim=ode"])

    def test_the_commands_in_the_experiment_files_headers_run(self):
        folder = os.path.join(SOURCE, "examples")
        commands = []
        for name in sorted(f for f in os.listdir(folder) if f.endswith(".toml")):
            with open(os.path.join(folder, name)) as f:
                for line in f:
                    if line.startswith("#") and f"ratesim run examples/{name}" in line:
                        commands.append((name, line.split(f"examples/{name}", 1)[1].split()))
        self.assertGreaterEqual(len(commands), 2)
        with tempfile.TemporaryDirectory() as d:
            for name, words in commands:
                overrides = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
                with self.subTest(file=name, overrides=overrides):
                    ratesim.run_experiment(os.path.join(folder, name),
                                           overrides + [f"output.file={os.path.join(d, 'out.h5')}"])

    def test_the_example_script_learns_the_bars(self):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run(
                [sys.executable, os.path.join(SOURCE, "examples", "keck2012.py"), os.path.join(d, "k.h5")],
                check=True, capture_output=True, text=True,
            ).stdout
            worst = float(out.split("worst relative L1 error over the bars: ")[1].split()[0])
            self.assertLess(worst, 0.10)


class Registries(unittest.TestCase):
    """Every kind of component an experiment file names by name, from Python by the same
    names (plug-ins add to the same tables: tests/plugin/run.cmake)."""

    def test_the_tables_list_the_builtins(self):
        self.assertEqual(ratesim.regimes(), ["ode", "quasi_static", "spiking"])
        self.assertEqual(ratesim.stimulus_sources(), ["bars", "constant", "file"])
        self.assertEqual(ratesim.weight_initializers(), ["constant", "data_mean", "file", "uniform"])
        self.assertEqual(ratesim.record_kinds(), ["spikes", "variable", "weight_sums", "weights"])

    def test_describe_lists_parameters_with_defaults_and_units(self):
        ffi = {d["name"]: d for d in ratesim.describe("population", "feedforward_inhibition")}
        self.assertEqual(list(ffi), ["size", "A", "tau_y", "tau_h", "h0"])
        self.assertIsNone(ffi["size"]["default"])  # required
        self.assertEqual((ffi["tau_y"]["default"], ffi["tau_y"]["units"]), ("1", "ms"))
        scaling = ratesim.describe("rule", "synaptic_scaling")
        self.assertEqual(scaling[0], {"name": "tau", "default": "1000", "units": "ms",
                                      "meaning": "learning time constant tau_W"})
        self.assertEqual([d["name"] for d in scaling], ["tau", "divide_by"])
        # Every built-in model and rule has them, and they are the names its factory reads:
        # a misspelt parameter is an error listing the names the factory asked for.
        def known(make):
            with self.assertRaises(ratesim.ParameterError) as caught:
                make()
            return sorted(str(caught.exception).split("known: ")[1].split(", "))

        for name in ratesim.population_models():
            documented = sorted(d["name"] for d in ratesim.describe("population", name))
            asked = known(lambda: ratesim.Network().add_population(name, "x", size=4, A=10.0, misspelt=1.0))
            self.assertEqual(documented, sorted(set(asked) | {"size"}), name)
        for name in ratesim.rules():
            net, W0, _ = circuit(tau=50.0)
            net.add_population("softmax_competition", "z", size=4)
            documented = sorted(d["name"] for d in ratesim.describe("rule", name))
            self.assertEqual(documented, known(lambda: net.connect("output", "z", "p", np.ones((4, 4)), rule=name, misspelt=1.0)), name)
        # The same for every other registry: stimulus sources, weight initialisers, record
        # kinds and regimes (each given what it requires, so that the misspelt one is what
        # it rejects).
        required = {("stimulus", "file"): {"images": "x.npy"}, ("stimulus", "constant"): {"value": 1.0},
                    ("weights", "uniform"): {"low": 1.0, "high": 2.0}, ("weights", "constant"): {"value": 1.0},
                    ("weights", "data_mean"): {"row_sum": 10.0}, ("weights", "file"): {"path": "x.npy"},
                    ("record", "variable"): {"population": "output"}, ("record", "spikes"): {"population": "output"},
                    ("record", "weights"): {"projection": "ff"}, ("record", "weight_sums"): {"projection": "ff"}}
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        makers = {
            "stimulus": (ratesim.stimulus_sources, lambda name, kw: circuit()[0].stimulate("input", name, **kw)),
            "weights": (ratesim.weight_initializers,
                        lambda name, kw: ratesim.initial_weights(circuit()[0], "input", "output", name, **kw)),
            "record": (ratesim.record_kinds,
                       lambda name, kw: ratesim.Recorder(os.path.join(folder.name, "r.h5")).record_kind(
                           circuit()[0], name, **kw)),
            "regime": (ratesim.regimes, lambda name, kw: ratesim.simulation(circuit()[0], name, **kw)),
        }
        for kind, (names, make) in makers.items():
            for name in names():
                with self.subTest(kind=kind, name=name):
                    docs = ratesim.describe(kind, name)
                    self.assertTrue(all(d["meaning"] for d in docs))
                    kw = dict(required.get((kind, name), {}), misspelt=1.0)
                    self.assertEqual(sorted(d["name"] for d in docs), known(lambda: make(name, kw)))
        self.assertEqual(ratesim.describe("stepper", "rk4"), [])  # no parameters
        with self.assertRaisesRegex(ratesim.UnknownNameError, 'unknown plasticity rule "covariance"'):
            ratesim.describe("rule", "covariance")
        with self.assertRaisesRegex(ratesim.ParameterError, "unknown kind \"model\"; known: population, rule"):
            ratesim.describe("model", "linear")

    def test_docs_config_names_every_registered_parameter(self):
        # One source of truth: what describe() lists (from the C++ registries) is what the
        # experiment-file reference documents, name by name.
        with open(os.path.join(SOURCE, "docs", "config.md")) as f:
            reference = f.read()
        registries = {"population": ratesim.population_models, "rule": ratesim.rules,
                      "intrinsic": ratesim.intrinsic_rules, "regime": ratesim.regimes,
                      "stimulus": ratesim.stimulus_sources, "weights": ratesim.weight_initializers,
                      "record": ratesim.record_kinds}
        for kind, names in registries.items():
            for name in names():
                # Each parameter close after a mention of its component (where the reference
                # lists the component's parameters), not just anywhere.
                places = [m.end() for m in re.finditer(f"`{re.escape(name)}`", reference)]
                missing = [d["name"] for d in ratesim.describe(kind, name)
                           if not any(re.search(f"`{re.escape(d['name'])}[` ]", reference[at:at + 700])
                                      for at in places)]
                self.assertTrue(places and not missing, f"{kind} {name}: {missing}")

    def test_a_regime_by_name_is_the_regime_class(self):
        def run(make):
            net, _, _ = circuit(tau=50.0)
            sim = make(net)
            sim.run(20.0)
            return sim, net.weights("ff").copy()

        by_name, W1 = run(lambda net: ratesim.simulation(net, "quasi_static", dt=0.5, batch_size=2))
        by_class, W2 = run(lambda net: ratesim.QuasiStaticSimulation(net, dt=0.5, batch_size=2))
        self.assertIsInstance(by_name, ratesim.QuasiStaticSimulation)
        self.assertEqual(by_name.presentations, 20)  # T = 1 ms
        np.testing.assert_array_equal(W1, W2)
        ode = ratesim.simulation(circuit()[0], "ode", stepper="euler", dt=0.1, settle=False)
        self.assertIsInstance(ode, ratesim.OdeSimulation)
        with self.assertRaisesRegex(ratesim.ParameterError, "unknown parameter.*stepr"):
            ratesim.simulation(circuit()[0], "ode", stepr="rk4")
        with self.assertRaisesRegex(ratesim.UnknownNameError, 'unknown regime "fast"'):
            ratesim.simulation(circuit()[0], "fast")

    def test_the_files_seed_gives_the_files_data_and_weights(self):
        # Each component draws from the stream keyed by the seed and its table's name
        # (docs/architecture.md, "Random numbers"): Python and the experiment file agree.
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "k.h5")
            ratesim.run_experiment(os.path.join(SOURCE, "examples", "keck2012.toml"),
                                   ["run.presentations=1", f"output.file={out}"])
            with traces.open_run(out) as run:
                _, W = traces.read(run, "ff/weights")
        net = ratesim.Network()
        net.add_population("feedforward_inhibition", "input", size=25, A=40.0, tau_y=1.0, tau_h=1.0)
        net.add_population("softmax_competition", "output", size=10, tau_u=1.0)
        net.stimulate("input", "bars", side=5, bar=10.0, background=1.0, samples=2000,
                      duration=1.0, order="shuffled", seed=7, rng=2012)
        init = dict(noise=0.5, row_sum=40.0, rng=2012)
        W0 = ratesim.initial_weights(net, "input", "output", "data_mean", projection="ff", **init)
        np.testing.assert_array_equal(W[0], W0)
        unnamed = ratesim.initial_weights(net, "input", "output", "data_mean", **init)
        self.assertFalse(np.array_equal(unnamed, W0))  # another stream

    def test_sources_initialisers_and_record_kinds_by_name(self):
        net = ratesim.Network()
        net.add_population("feedforward_inhibition", "input", size=16, A=40.0)
        net.add_population("softmax_competition", "output", size=3)
        net.stimulate("input", "bars", side=4, samples=20, duration=1.0, rng=5)
        W = ratesim.initial_weights(net, "input", "output", "data_mean", noise=0.5, row_sum=40.0, rng=2)
        self.assertEqual(W.shape, (3, 16))
        np.testing.assert_allclose(W.sum(axis=1), 40.0, rtol=1e-12)
        same = ratesim.initial_weights(net, "input", "output", "data_mean", noise=0.5, row_sum=40.0, rng=2)
        np.testing.assert_array_equal(W, same)  # the generator is seeded by rng
        net.connect("input", "output", "ff", W, rule="synaptic_scaling", tau=50.0)
        sim = ratesim.simulation(net, "quasi_static", dt=1.0)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "sums.h5")
            rec = ratesim.Recorder(path)
            rec.record_kind(net, "weight_sums", projection="ff", every=5.0)
            sim.attach(rec)
            sim.run(20.0)
            del rec
            with traces.open_run(path) as f:
                time, sums = traces.read(f, "metrics/weight_sum_ff")
            np.testing.assert_array_equal(time, [0, 5, 10, 15, 20])
            self.assertEqual(sums.shape, (5, 3))
            np.testing.assert_allclose(sums, 40.0, rtol=1e-9)


class Formats(unittest.TestCase):
    """Images and labels from files NumPy writes, wherever images are read."""

    def test_npy_npz_and_csv_as_numpy_writes_them(self):
        rng = np.random.default_rng(4)
        images = rng.integers(0, 256, size=(5, 4, 4)).astype(np.uint8)
        labels = np.array([3, 1, 4, 1, 5], dtype=np.int64)
        flat = images.reshape(5, 16).astype(float)
        with tempfile.TemporaryDirectory() as d:
            p = lambda name: os.path.join(d, name)
            np.save(p("x.npy"), images)
            np.save(p("xf.npy"), np.asfortranarray(flat.astype(np.float32)))
            np.save(p("y.npy"), labels.astype(np.int32))
            np.savez(p("s.npz"), images=images, labels=labels)
            np.savez_compressed(p("c.npz"), images=flat, labels=labels)
            np.savetxt(p("x.csv"), flat, delimiter=",", fmt="%g", header="pixels")
            np.savetxt(p("y.csv"), labels, fmt="%d")
            for spec in ("x.npy", "xf.npy", "s.npz:images", "c.npz:images", "x.csv"):
                np.testing.assert_array_equal(ratesim.read_images(p(spec)), flat, err_msg=spec)
            for spec in ("y.npy", "s.npz:labels", "c.npz:labels", "y.csv"):
                self.assertEqual(ratesim.read_labels(p(spec)), labels.tolist(), spec)
            np.save(p("big.npy"), flat.astype(">f8"))
            with self.assertRaisesRegex(ratesim.InputError, "big.npy: dtype '>f8' is not read"):
                ratesim.read_images(p("big.npy"))
            with self.assertRaisesRegex(ratesim.InputError, "no array \"x\" in the archive; it holds: images, labels"):
                ratesim.read_images(p("s.npz:x"))
            # The file stimulus source reads them too.
            net = ratesim.Network()
            net.add_population("feedforward_inhibition", "input", size=16, A=40.0)
            net.stimulate("input", "file", images=p("c.npz:images"), duration=1.0)
            ratesim.simulation(net, "quasi_static").run(2.0)


class Plotting(unittest.TestCase):
    """ratesim.plot draws every figure from a small recorded run, a file or a Monitor."""

    def test_each_figure_draws_into_an_agg_canvas(self):
        import h5py
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from ratesim import plot

        def drawn(fig):
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            pixels = np.asarray(canvas.buffer_rgba())
            plt.close(fig)
            return pixels.shape[0] > 0 and pixels.min() < 255  # something was drawn

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.h5")
            net, _, _ = circuit(tau=50.0)
            sim = ratesim.QuasiStaticSimulation(net)
            rec, monitor = ratesim.Recorder(path), ratesim.Monitor()
            rec.record_weight_sums("ff", every=5.0)  # the monitor's sums come from its snapshots
            for r in (rec, monitor):
                r.record("output", "rate", every=1.0)
                r.record_weights("ff", every=10.0)
                sim.attach(r)
            sim.run_presentations(50)
            rec.close()
            for run in (path, monitor):
                ax = plot.rates(run, "output")
                self.assertEqual(len(ax.lines), 4)  # one per unit
                self.assertTrue(drawn(ax.figure))
                fig = plot.weights(run, "ff", shape=(4, 4))
                self.assertEqual(sum(len(a.images) for a in fig.axes), 4)
                self.assertTrue(drawn(fig))
                ax = plot.weight_sums(run, "ff")  # recorded sums, or sums of the snapshots
                np.testing.assert_allclose(ax.lines[0].get_ydata(), 0.0, atol=1e-9)
                self.assertTrue(drawn(ax.figure))
            self.assertTrue(drawn(plot.weights(net.weights("ff"))))
            with self.assertRaisesRegex(KeyError, "nothing recorded as 'input/rate'"):
                plot.rates(path, "input")
            with self.assertRaisesRegex(ValueError, "3 x 3 pixels do not make D = 16"):
                plot.weights(net.weights("ff"), shape=(3, 3))
            fit = os.path.join(d, "fit.h5")
            with h5py.File(fit, "w") as f:
                f["curves/log_likelihood_train"] = [-3.0, -2.0, -1.5]
                f["curves/log_likelihood_test"] = [-3.1, -2.2, -1.9]
            ax = plot.learning_curves(fit)
            self.assertEqual(len(ax.lines), 2)
            self.assertTrue(drawn(ax.figure))


class Monitoring(unittest.TestCase):
    def test_a_monitor_holds_what_a_recorder_writes(self):
        with tempfile.TemporaryDirectory() as d:
            net, _, _ = circuit(tau=50.0)
            sim = ratesim.QuasiStaticSimulation(net)
            monitor, out = ratesim.Monitor(), ratesim.Recorder(os.path.join(d, "run.h5"))
            self.assertEqual(repr(monitor), "<ratesim.Monitor: nothing recorded yet>")
            for observer in (monitor, out):
                observer.record("output", "rate", every=1.0)
                observer.record("input", "y", every_steps=5, units=[0, 3])
                observer.record_weights("ff", every=50.0)
                observer.record_weight_sums("ff", every=10.0)
                sim.attach(observer)
            sim.run_presentations(300)
            sim.run_presentations(200)
            out.close()
            names = ["ff/weights", "input/y", "metrics/weight_sum_ff", "output/rate"]
            self.assertEqual(monitor.names(), names)
            self.assertEqual(repr(monitor), f"<ratesim.Monitor: {', '.join(names)}>")
            with traces.open_run(out.path) as run:
                for name in names:
                    for mine, written in zip(monitor[name], traces.read(run, name)):
                        np.testing.assert_array_equal(mine, written)
            t, rates = monitor["output/rate"]
            self.assertEqual(rates.shape, (501, 4))
            np.testing.assert_array_equal(monitor["ff/weights"][1][-1], net.weights("ff"))
            with self.assertRaisesRegex(KeyError, "nothing recorded as 'output/u'"):
                monitor["output/u"]
        path = monitor.path
        self.assertTrue(os.path.exists(path))
        del sim, monitor, observer
        self.assertFalse(os.path.exists(path))


    def test_a_rule_that_raises_leaves_what_was_recorded_before_it_in_the_file(self):
        class Failing(ratesim.Rule):
            calls = 0

            def derivative(self, W, pre, post):
                Failing.calls += 1
                if Failing.calls > 40:
                    raise ValueError("the rule gave up")
                return np.zeros_like(W)

        for regime in ("quasi_static", "ode"):
            with self.subTest(regime=regime), tempfile.TemporaryDirectory() as d:
                Failing.calls = 0
                net, _, _ = circuit(rule=Failing())
                sim = (ratesim.QuasiStaticSimulation(net) if regime == "quasi_static"
                       else ratesim.OdeSimulation(net, stepper="euler", dt=0.5))
                out = ratesim.Recorder(os.path.join(d, "run.h5"), flush_every=10**6)
                out.record("output", "rate")
                sim.attach(out)
                with self.assertRaisesRegex(ValueError, "the rule gave up"):
                    sim.run(100.0)
                # Flushed as the run ended, though far fewer than flush_every samples.
                with traces.open_run(out.path) as run:
                    t, _ = traces.read(run, "output/rate")
                self.assertGreater(t.size, 10)
                self.assertLess(t[-1], 100.0)
                del sim, out


class PythonObservers(unittest.TestCase):
    def test_an_observer_in_python_sees_what_a_recorder_records(self):
        net, _, _ = circuit(tau=50.0)
        W = net.weights("ff")

        class Snapshots(ratesim.Observer):
            every_steps = 10

            def __init__(self):
                super().__init__()
                self.times, self.weights, self.runs = [], [], 0

            def observe(self, step, time):
                self.times.append(time)
                self.weights.append(W.copy())

            def flush(self):
                self.runs += 1

        class Squares(ratesim.Observer):
            def __init__(self):
                super().__init__()
                self.steps = []

            def next_due(self, step):
                root = int(np.ceil(np.sqrt(step)))
                return root * root

            def observe(self, step, time):
                self.steps.append(step)

        sim = ratesim.QuasiStaticSimulation(net)
        snapshots, squares, monitor = Snapshots(), Squares(), ratesim.Monitor()
        monitor.record_weights("ff", every_steps=10)
        for observer in (snapshots, squares, monitor):
            sim.attach(observer)
        sim.run_presentations(50)
        sim.run_presentations(50)
        t, recorded = monitor["ff/weights"]
        np.testing.assert_array_equal(snapshots.times, t)
        np.testing.assert_array_equal(np.array(snapshots.weights), recorded)
        self.assertEqual(snapshots.runs, 2)
        self.assertEqual(squares.steps, [k * k for k in range(11)])

    def test_an_observer_must_observe_and_its_errors_end_the_run(self):
        class Nothing(ratesim.Observer):
            pass

        class Failing(ratesim.Observer):
            def observe(self, step, time):
                if step == 30:
                    raise ValueError("seen enough")

        sim = ratesim.QuasiStaticSimulation(circuit(tau=50.0)[0])
        with self.assertRaisesRegex(ratesim.UsageError, "must define observe"):
            sim.attach(Nothing())
        sim.attach(Failing())
        with self.assertRaisesRegex(ValueError, "seen enough"):
            sim.run_presentations(100)
        self.assertEqual(sim.presentations, 30)


class Progress(unittest.TestCase):
    def test_a_callable_sees_the_run_advance_and_changes_no_bit(self):
        reports = []
        net, _, _ = circuit(tau=50.0)
        sim = ratesim.QuasiStaticSimulation(net, batch_size=3)
        sim.run_presentations(300_000, progress=lambda done, total: reports.append((done, total)))
        self.assertEqual(reports[-1], (300_000, 300_000))
        self.assertGreater(len(reports), 2)
        self.assertEqual([d for d, _ in reports], sorted({d for d, _ in reports}))
        plain, _, _ = circuit(tau=50.0)
        ratesim.QuasiStaticSimulation(plain, batch_size=3).run_presentations(300_000)
        np.testing.assert_array_equal(net.weights("ff"), plain.weights("ff"))

    def test_a_bar_on_stderr(self):
        net, _, _ = circuit(tau=50.0)
        sim = ratesim.QuasiStaticSimulation(net)
        shown = io.StringIO()
        with contextlib.redirect_stderr(shown):
            sim.run_presentations(20_000, progress=True)
            ratesim.OdeSimulation(circuit(tau=50.0)[0], stepper="euler", dt=0.5).run(500.0, progress=True)
        self.assertIn("20.0k/20.0k", shown.getvalue())
        self.assertIn("1.00k/1.00k", shown.getvalue())
        with self.assertRaises(TypeError):
            sim.run_presentations(10, progress="yes")

    def test_an_experiment_reports_its_steps(self):
        reports = []
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(SOURCE, "examples", "keck2012.toml")
            overrides = ["run.presentations=20000", f"output.file={os.path.join(d, 'k.h5')}"]
            ratesim.run_experiment(config, overrides, progress=lambda done, total: reports.append((done, total)))
            self.assertEqual(reports[0], (0, 20000))
            self.assertEqual(reports[-1], (20000, 20000))
            shown = io.StringIO()
            with contextlib.redirect_stderr(shown):
                ratesim.run_experiment(config, overrides + ["output.mode=overwrite"], progress=True)
            self.assertIn("20.0k/20.0k", shown.getvalue())

    def test_an_error_in_the_callback_stops_the_run_where_it_can_go_on(self):
        def failing(done, total):
            if done > 1000:
                raise RuntimeError("enough")

        net, _, _ = circuit(tau=50.0)
        sim = ratesim.QuasiStaticSimulation(net, batch_size=3)
        with self.assertRaisesRegex(RuntimeError, "enough"):
            sim.run_presentations(10**9, progress=failing)
        done = sim.presentations
        sim.run_presentations(999)
        plain, _, _ = circuit(tau=50.0)
        ratesim.QuasiStaticSimulation(plain, batch_size=3).run_presentations(done + 999)
        np.testing.assert_array_equal(net.weights("ff"), plain.weights("ff"))


if __name__ == "__main__":
    unittest.main()
