"""The Python package installed as a user would install it, then used from a folder outside
the source and build trees:

    cmake   cmake --install BUILD --prefix P, then PYTHONPATH=P/PYTHONDIR
    pip     pip install --no-build-isolation --no-index SOURCE in a new venv made with
            --system-site-packages (offline), reusing BUILD's configuration

Usage: test_python_install.py cmake|pip SOURCE BUILD WORK [PYTHONDIR]
"""

import os
import shutil
import subprocess
import sys

# Run by the installed package: where it was imported from, and a small circuit that learns.
SMOKE = """
import sys
import numpy as np
import ratesim
from ratesim import traces  # noqa: F401
expected = sys.argv[1]
for module in (ratesim, ratesim._core):
    assert module.__file__.startswith(expected), f"{module.__name__} from {module.__file__}, not {expected}"
rng = np.random.default_rng(1)
D, C, A = 16, 4, 48.0
W0 = rng.uniform(1.0, 2.0, size=(C, D))
W0 *= A / W0.sum(axis=1, keepdims=True)
net = ratesim.Network()
net.add_population("feedforward_inhibition", "input", size=D, A=A)
net.add_population("softmax_competition", "output", size=C)
net.connect("input", "output", "ff", W0, rule="synaptic_scaling", tau=50.0)
net.stimulate_patterns("input", rng.uniform(0.5, 10.0, size=(50, D)), duration=1.0, shuffle=True)
ratesim.QuasiStaticSimulation(net).run_presentations(1000)
W = net.weights("ff")
assert not np.array_equal(W, W0) and np.allclose(W.sum(axis=1), A, rtol=1e-9)
print("ratesim", ratesim.__version__, "from", ratesim.__file__)
"""


def run(command, **kwargs):
    print("+", " ".join("<the smoke test>" if c == SMOKE else c for c in command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def main(how, source, build, work, python_dir=None):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    if how == "cmake":
        prefix = os.path.join(work, "prefix")
        run(["cmake", "--install", build, "--prefix", prefix], stdout=subprocess.DEVNULL)
        site = os.path.join(prefix, python_dir)
        env["PYTHONPATH"] = site
        python = sys.executable
    elif how == "pip":
        venv = os.path.join(work, "venv")
        run([sys.executable, "-m", "venv", "--system-site-packages", venv])
        python = os.path.join(venv, "bin", "python")
        run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir",
             "--disable-pip-version-check", "--quiet", source],
            env=dict(env, RATESIM_BUILD_DIR=build), cwd=work)
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
    else:
        sys.exit(f"unknown way to install: {how}")
    expected = os.path.join(site, "ratesim")
    run([python, "-c", SMOKE, expected], env=env, cwd=work)
    run([python, "-m", "ratesim.traces", "--help"], env=env, cwd=work, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main(*sys.argv[1:])
