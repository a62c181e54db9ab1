"""ratesim: rate-based neural circuits with plastic synapses, from Python.

    import numpy as np
    import ratesim

    net = ratesim.Network()
    net.add_population("feedforward_inhibition", "input", size=25, A=40.0)
    net.add_population("softmax_competition", "output", size=10)
    net.connect("input", "output", "ff", W0, rule="synaptic_scaling", tau=500.0)
    net.stimulate_patterns("input", patterns, duration=1.0, shuffle=True)
    sim = ratesim.QuasiStaticSimulation(net)
    sim.run_presentations(40000)
    W = net.weights("ff")          # a numpy view of the live weights

A plasticity rule can be a Python class (slow, but right for trying an idea): subclass
ratesim.Rule and pass an instance as `rule=`. `ratesim.traces` reads the HDF5 traces and
needs only h5py, `ratesim.plot` draws the usual figures with matplotlib; both work
without the compiled module.
"""

import glob as _glob
import importlib as _importlib
import os as _os


def _load_bundled_library():
    """A package installed by pip carries libratesim next to the module: load that copy
    first, so that the module and plug-ins (linked against the same soname) use it."""
    import ctypes

    for path in _glob.glob(_os.path.join(_os.path.dirname(__file__), "libratesim.so.*")):
        ctypes.CDLL(path)


_load_bundled_library()

# What `from ratesim import *` gives: the classes and functions, never a name that would
# hide a builtin.
_ENGINE = [
    "ConfigError",
    "Error",
    "InputError",
    "Network",
    "NumericalError",
    "Observer",
    "describe",
    "OdeSimulation",
    "ParameterError",
    "QuasiStaticSimulation",
    "Recorder",
    "Simulation",
    "UnknownNameError",
    "UsageError",
    "fit",
    "initial_weights",
    "intrinsic_rules",
    "load_plugin",
    "population_models",
    "read_images",
    "read_labels",
    "record_kinds",
    "regimes",
    "rules",
    "run_experiment",
    "simulation",
    "stimulus_sources",
    "weight_initializers",
]

try:
    _core = _importlib.import_module("._core", __name__)
except ModuleNotFoundError as missing:  # only the pure-Python tooling is available
    if missing.name != "ratesim._core":
        raise
    _core = None
if _core is not None:
    globals().update({name: getattr(_core, name) for name in _ENGINE})
    __version__ = _core.__version__
    from ._monitor import Monitor

    _ENGINE.append("Monitor")

__all__ = [name for name in _ENGINE if name in globals()] + ["Rule", "IntrinsicRule"]


class Rule:
    """A plasticity rule written in Python.

    derivative(W, pre, post) returns dW/dt [1/ms] as an array shaped like W (n_post,
    n_pre); W, pre and post are read-only views. Optionally constrain(W) changes W in place
    after every step (an explicit normalisation, say). `name` names it in messages.

    A rule that reads a variable of its postsynaptic population (a state variable, or
    the variable of the population's intrinsic rule, e.g. "threshold" of
    "sliding_threshold" or "prior" of "priors") names it in `post_variable`; it is then
    called as derivative(W, pre, post, post_state), post_state holding that variable's
    value for each postsynaptic unit.

    A spike-triggered rule (for the regime "spiking") also defines post_spike(W, c, pre,
    scale): at each spike of postsynaptic unit c it changes row c of W in place, given the
    presynaptic normalised traces pre (read-only) and the learning-rate scale; its
    derivative() is then the update's expectation per ms when post holds firing rates.
    """

    name = "python"
    constrain = None
    post_spike = None
    post_variable = ""  # none

    def derivative(self, W, pre, post):
        """dW/dt [1/ms] for weights W (n_post, n_pre), presynaptic rates pre (n_pre) and
        postsynaptic rates post (n_post); a subclass must define it."""
        raise NotImplementedError("a ratesim.Rule must define derivative(W, pre, post)")


class IntrinsicRule:
    """An intrinsic plasticity rule written in Python (Network.adapt).

    The rule keeps one variable theta per unit of the population it adapts; each unit's
    input gets the bias bias(theta). initial_state(n) returns theta of a fresh network,
    bias(theta) the bias, derivative(theta, rates) d(theta)/dt [1/ms], all arrays of n
    values (theta and rates are read-only views). Optionally constrain(theta) changes
    theta in place after every step. `name` names it in messages; `variable` is the name
    theta is read and recorded under.
    """

    name = "python"
    variable = "theta"
    constrain = None

    def initial_state(self, n):
        """theta of a fresh network with n units (zeros unless overridden)."""
        import numpy

        return numpy.zeros(n)

    def bias(self, theta):
        """The bias added to each unit's input (theta itself unless overridden)."""
        return theta

    def derivative(self, theta, rates):
        """d(theta)/dt [1/ms] from theta and the population's rates; a subclass must
        define it."""
        raise NotImplementedError("a ratesim.IntrinsicRule must define derivative(theta, rates)")
