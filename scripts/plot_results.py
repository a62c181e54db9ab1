"""Figures and a summary of `ratesim fit` results, from the HDF5 files alone.

    /usr/bin/python3 scripts/plot_results.py OUT_DIR

Reads every OUT_DIR/*.h5 written by `ratesim fit -o` (attribute content = "fit") and
writes into OUT_DIR/figures/:
  W-<label>-C<C>.png    the learned W of each fit as a grid of images; the label is the
                        method, with the circuit's intrinsic rule (online-homeostasis,
                        online-none, online-priors) and em-priors for EM's learned priors
  loglik-C<C>.png       log-likelihood per EM iteration and per epoch of the circuit
  raster-<label>-C<C>.png  the circuit in spikes: the input's and the output's spikes of
                        its last presentation
  errors.png            test error and final log-likelihood for every C and method
and OUT_DIR/summary.md with the same table, which it also prints. Fits of the same C and
label with different seeds are one row: the mean of their scores, and the range of the
test errors.
"""

import glob
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# ratesim.plot from this source tree (it needs no compiled module).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from ratesim import plot  # noqa: E402


def label(attrs):
    """em, em-priors, or the circuit's method and intrinsic rule: online-homeostasis, ..."""
    method = attrs["method"]
    if method == "em":
        return "em-priors" if attrs.get("learned_priors", 0) else "em"
    return f"{method}-{attrs.get('intrinsic', 'none')}"


def load(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("content") != "fit":
            return None
        return {
            "path": path,
            "method": label(f.attrs),
            "seed": int(f.attrs.get("seed", 0)),
            "units_used": int(f.attrs.get("units_used", -1)),
            "C": int(f.attrs["C"]),
            "A": float(f.attrs["A"]),
            "W": f["model/W"][()],
            "train": f["curves/log_likelihood_train"][()],
            "test": f["curves/log_likelihood_test"][()],
            "loglik_train": float(f.attrs["loglik_train"]),
            "loglik_test": float(f.attrs["loglik_test"]),
            "error": float(f.attrs["error"]),
            "seconds": float(f.attrs["seconds"]),
            "spikes": "spikes" in f,
        }


SCORES = ("loglik_train", "loglik_test", "error", "seconds", "units_used")


def load_all(out_dir):
    """{C: {label: fit}} of every fit in out_dir. Fits of one C and label with different
    seeds become one: their scores are the means, `errors` lists each seed's test error,
    and W and the curves are the first seed's."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "*.h5"))):
        fit = load(path)
        if fit is not None:
            runs.setdefault((fit["C"], fit["method"]), []).append(fit)
    fits_by_C = {}
    for (C, method), fits in runs.items():
        fits.sort(key=lambda f: f["seed"])
        merged = dict(fits[0])
        for score in SCORES:
            merged[score] = sum(f[score] for f in fits) / len(fits)
        merged["errors"] = [f["error"] for f in fits]
        merged["seeds"] = [f["seed"] for f in fits]
        fits_by_C.setdefault(C, {})[method] = merged
    return fits_by_C


def plot_weights(fit, path):
    fig = plot.weights(fit["W"])
    fig.suptitle(f"learned W: {fit['method']}, C = {fit['C']}, A = {fit['A']:g}")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_raster(fit, path):
    """The spikes of the last presentation the fit file keeps (method spiking)."""
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(3, 1))
    for ax, population in zip(axes, ("input", "output")):
        plot.raster(fit["path"], population, ax=ax)
    axes[1].set_ylim(-0.5, fit["C"] - 0.5)
    axes[0].set_xlabel("")
    fig.suptitle(f"the last presentation: {fit['method']}, C = {fit['C']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(fits, C, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    em = fits.get("em")
    circuit = sorted(m for m in fits if not m.startswith("em"))
    for ax, methods, xlabel in ((axes[0], ["em", "em-priors"], "EM iteration"),
                                (axes[1], circuit, "epoch of the circuit")):
        present = [m for m in methods if m in fits]
        if not present:
            ax.set_visible(False)
            continue
        for m in present:  # the training curves (the test curves follow them closely)
            ax.plot(range(len(fits[m]["train"])), fits[m]["train"], label=m)
        ax.set_xlabel(xlabel)
        if em is not None:
            ax.axhline(em["loglik_train"], color="gray", linestyle="--", label="EM's final")
        ax.set_title("training log-likelihood")
        ax.legend()
    axes[0].set_ylabel("log-likelihood per data point [nats]")
    fig.suptitle(f"C = {C}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(fits_by_C):
    lines = [
        "| C | method | seeds | test error | log-lik train | log-lik test | gap to EM (train) | units used | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for C in sorted(fits_by_C):
        em = fits_by_C[C].get("em")
        for method in sorted(fits_by_C[C]):
            fit = fits_by_C[C][method]
            gap = ""
            if em is not None:
                gap = f"{100 * (fit['loglik_train'] - em['loglik_train']) / abs(em['loglik_train']):+.3f}%"
            spread = ""
            if len(fit["errors"]) > 1:
                spread = f" ({100 * min(fit['errors']):.2f} to {100 * max(fit['errors']):.2f})"
            lines.append(
                f"| {C} | {method} | {len(fit['seeds'])} | {100 * fit['error']:.2f}%{spread} | {fit['loglik_train']:.3f} | "
                f"{fit['loglik_test']:.3f} | {gap} | {fit['units_used']:g} | {fit['seconds']:.1f} |"
            )
    return "\n".join(lines)


def plot_errors(fits_by_C, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    methods = sorted({m for fits in fits_by_C.values() for m in fits})
    Cs = sorted(fits_by_C)
    for method in methods:
        present = [C for C in Cs if method in fits_by_C[C]]
        axes[0].plot(present, [100 * fits_by_C[C][method]["error"] for C in present], "o-", label=method)
        axes[1].plot(present, [fits_by_C[C][method]["loglik_test"] for C in present], "o-", label=method)
    axes[0].set_ylabel("test error [%]")
    axes[1].set_ylabel("test log-likelihood per point [nats]")
    for ax in axes:
        ax.set_xlabel("C")
        ax.set_xscale("log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(out_dir):
    fits_by_C = load_all(out_dir)
    if not fits_by_C:
        raise SystemExit(f"{out_dir}: no fit results (*.h5 written by ratesim fit -o)")
    figures = os.path.join(out_dir, "figures")
    os.makedirs(figures, exist_ok=True)
    for C, fits in fits_by_C.items():
        for method, fit in fits.items():
            plot_weights(fit, os.path.join(figures, f"W-{method}-C{C}.png"))
            if fit["spikes"]:
                plot_raster(fit, os.path.join(figures, f"raster-{method}-C{C}.png"))
        plot_curves(fits, C, os.path.join(figures, f"loglik-C{C}.png"))
    plot_errors(fits_by_C, os.path.join(figures, "errors.png"))
    summary = table(fits_by_C)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(summary + "\n")
    print(summary)
    print(f"figures: {figures}/")


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        sys.exit(0)
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
