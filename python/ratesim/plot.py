"""The figures made after every run, with matplotlib (imported when a figure is drawn).

    from ratesim import plot
    plot.rates("run.h5", "output")                 # rates against time, one line per unit
    plot.weights("run.h5", "ff", shape=(28, 28))   # the last weight snapshot, one image per row
    plot.weights(net.weights("ff"), shape=(5, 5))  # or any (C, D) array
    plot.weight_sums(monitor, "ff")                # the drift of the row sums
    plot.raster("run.h5", "output")                # the spikes of a population, a dot each
    plot.learning_curves("fit.h5")                 # log-likelihood per iteration of `ratesim fit -o`

A run is a file written by a Recorder or `ratesim run` (its path, or an h5py File open
with ratesim.traces.open_run), or a ratesim.Monitor. Each function draws into `ax` (or a
new figure) and returns the Axes, or for `weights` the Figure. Needs numpy and h5py and
matplotlib; not the compiled module.
"""

import math
import os

import numpy as np

__all__ = ["rates", "weights", "weight_sums", "raster", "learning_curves"]


def _pyplot():
    import matplotlib.pyplot as plt  # lazily: importing ratesim must not need matplotlib

    return plt


def _axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def _names(run):
    from . import traces

    if hasattr(run, "names") and callable(run.names):  # a Monitor
        return run.names()
    if isinstance(run, (str, os.PathLike)):
        with traces.open_run(run) as f:
            return traces.names(f)
    return traces.names(run)


def _read(run, name):
    """(time [ms], samples) of `name` in a run: a path, an open file or a Monitor."""
    from . import traces

    known = _names(run)
    if name not in known:
        raise KeyError(f"ratesim.plot: nothing recorded as {name!r}; recorded: {', '.join(known) or 'nothing'}")
    if hasattr(run, "names") and callable(run.names):
        return run[name]
    if isinstance(run, (str, os.PathLike)):
        with traces.open_run(run) as f:
            return traces.read(f, name)
    return traces.read(run, name)


def rates(run, population, ax=None, variable="rate", units=None):
    """The recorded `variable` (default: rate) of `population` against time [ms], one line
    per unit (`units`: the columns to draw, default all)."""
    t, data = _read(run, f"{population}/{variable}")
    ax = _axes(ax)
    data = data if units is None else data[:, units]
    ax.plot(t, data, linewidth=0.8)
    ax.set_xlabel("time [ms]")
    ax.set_ylabel(variable)
    ax.set_title(f"{population}: {variable}")
    return ax


def weights(W, projection=None, shape=None, when=-1, fig=None, cmap="gray_r", cell=0.9):
    """The rows of a weight matrix as a grid of images of `shape` (default: square).

    `W` is a (C, D) array, or a run with `projection`'s weights recorded (then the
    snapshot `when`, default the last). `cell` is the size of one image [inches]."""
    if projection is not None:
        _, snapshots = _read(W, f"{projection}/weights")
        W = snapshots[when]
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"ratesim.plot.weights: W must be (C, D), not {W.shape}")
    if shape is None:
        side = int(round(math.sqrt(W.shape[1])))
        shape = (side, side)
    if shape[0] * shape[1] != W.shape[1]:
        raise ValueError(f"ratesim.plot.weights: {shape[0]} x {shape[1]} pixels do not make D = {W.shape[1]}")
    plt = _pyplot()
    cols = int(math.ceil(math.sqrt(W.shape[0])))
    rows = int(math.ceil(W.shape[0] / cols))
    if fig is None:
        fig = plt.figure(figsize=(cols * cell, rows * cell))
    axes = fig.subplots(rows, cols)
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < W.shape[0]:
            ax.imshow(W[i].reshape(shape), cmap=cmap, interpolation="nearest")
    if projection is not None:
        fig.suptitle(f"{projection}: weights")
    return fig


def weight_sums(run, projection, ax=None):
    """The row sums of `projection`'s weights against time [ms], minus their first values:
    the drift of a sum a rule should keep (from `record_weight_sums`, or else from the
    weight snapshots)."""
    name = f"metrics/weight_sum_{projection}"
    if name in _names(run):
        t, sums = _read(run, name)
    else:
        t, snapshots = _read(run, f"{projection}/weights")
        sums = snapshots.sum(axis=2)
    ax = _axes(ax)
    ax.plot(t, sums - sums[:1], linewidth=0.8)
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("row sum - first value")
    ax.set_title(f"{projection}: weight sums (first: {np.min(sums[0]):.6g} to {np.max(sums[0]):.6g})")
    return ax


def raster(run, population, ax=None, start=None, stop=None, size=2.0, color="k"):
    """The spikes of `population` (recorded with record_spikes, [[record]] what = "spikes"):
    one mark per spike at its time [ms] (x) and unit (y), from `start` to `stop` [ms]
    (default: all); `size` is the marker size [points^2]."""
    t, units = _read(run, f"spikes/{population}")
    keep = np.ones(t.shape, dtype=bool)
    if start is not None:
        keep &= t >= start
    if stop is not None:
        keep &= t < stop
    ax = _axes(ax)
    ax.scatter(t[keep], units[keep], s=size, c=color, marker="|", linewidths=0.8)
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("unit")
    ax.set_title(f"{population}: {int(keep.sum())} spikes")
    return ax


def learning_curves(fit, ax=None, xlabel="iteration"):
    """Log-likelihood per data point against iteration (EM) or epoch (the circuit), train
    and test, from a file written by `ratesim fit -o` (its path) or a dict with 'train'
    and 'test' arrays."""
    if isinstance(fit, (str, os.PathLike)):
        import h5py

        with h5py.File(fit, "r") as f:
            fit = {"train": f["curves/log_likelihood_train"][()], "test": f["curves/log_likelihood_test"][()]}
    ax = _axes(ax)
    steps = np.arange(len(fit["train"]))
    ax.plot(steps, fit["train"], label="train")
    if len(fit["test"]):
        ax.plot(steps, fit["test"], label="test")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("log-likelihood per data point [nats]")
    ax.legend()
    return ax
