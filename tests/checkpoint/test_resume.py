"""Checkpoint and resume across processes, through the CLI: a run stopped (by --stop-at,
SIGTERM, or SIGKILL while it writes checkpoints) and resumed in a new process leaves
exactly the output file of the run that never stopped; another configuration or version
is refused unless forced; a damaged checkpoint is an input error.

    /usr/bin/python3 tests/checkpoint/test_resume.py build/ratesim
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

RATESIM = os.path.abspath(sys.argv[1])

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
weights = {{ init = "data_mean", noise = 0.5, row_sum = 40.0 }}
rule = {{ name = "synaptic_scaling", tau = 50.0 }}
[run]
{run}
[output]
file = "out.h5"
mode = "overwrite"
flush_every = 7
[[record]]
population = "output"
every = {every}
[[record]]
population = "input"
variable = "h"
every = {every}
[[record]]
projection = "ff"
what = "weights"
every = {weights_every}
[[record]]
projection = "ff"
what = "weight_sums"
every = {every}
"""

QUASI_STATIC = dict(run='regime = "quasi_static"\nbatch_size = 3\npresentations = 3000',
                    every=1.0, weights_every=500.0)
ODE = dict(run='regime = "ode"\nstepper = "dopri5"\ndt = 0.1\nduration = 300.0',
           every=0.5, weights_every=50.0)
LONG = dict(run='regime = "quasi_static"\nbatch_size = 2\npresentations = 100000',
            every=10.0, weights_every=100000.0)

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def run(folder, *args, expect=None):
    p = subprocess.run([RATESIM, "run", "-q", *args], cwd=folder, capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        print(p.stdout, p.stderr)
    return p


def folder_with(config, name):
    d = os.path.join(base, name)
    os.makedirs(d)
    with open(os.path.join(d, "e.toml"), "w") as f:
        f.write(CONFIG.format(**config))
    return d


def contents(path):
    """Every dataset of an HDF5 file, by name."""
    out = {}
    with h5py.File(path, "r", swmr=True) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def same_output(reference, path, what):
    a, b = contents(reference), contents(path)
    differ = [k for k in a if k not in b or a[k].shape != b[k].shape or not np.array_equal(a[k], b[k])]
    check(a.keys() == b.keys() and not differ,
          f"{what}: the output equals the uninterrupted run's bit for bit"
          + (f" (differs in {differ})" if differ else ""))


def reference(config, name):
    d = folder_with(config, name)
    run(d, "e.toml", expect=0)
    return os.path.join(d, "out.h5")


base = tempfile.mkdtemp(prefix="ratesim-checkpoint-")
try:
    # 1. Stopped halfway by --stop-at, resumed in a new process, both regimes.
    for config, name, half in ((QUASI_STATIC, "qs", "1501"), (ODE, "ode", "150.3")):
        ref = reference(config, name + "-ref")
        d = folder_with(config, name)
        p = run(d, "e.toml", "--stop-at", half, expect=0)
        check(p.returncode == 0 and "e.ckpt.h5" in p.stderr, f"{name}: --stop-at stops, exit 0")
        p = run(d, "--resume", "e.ckpt.h5", expect=0)
        check(p.returncode == 0, f"{name}: resumes in a new process")
        same_output(ref, os.path.join(d, "out.h5"), f"{name}, stopped at {half} ms")

    # 2. SIGTERM in the middle of a run: checkpoint, exit 143, resume.
    ref = reference(LONG, "term-ref")
    d = folder_with(LONG, "term")
    proc = subprocess.Popen([RATESIM, "run", "-q", "e.toml"], cwd=d, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate()
    check(proc.returncode == 128 + signal.SIGTERM and "SIGTERM" in err,
          f"SIGTERM: exit {proc.returncode} (143 expected), {err.strip()}")
    p = run(d, "--resume", "e.ckpt.h5", expect=0)
    same_output(ref, os.path.join(d, "out.h5"), "stopped by SIGTERM")

    # 3. SIGKILL at random moments while checkpoints are written often: the last complete
    #    checkpoint always resumes to the same result.
    d = folder_with(LONG, "kill")
    rng = random.Random(5)
    reached = []
    for attempt in range(3):
        args = ["e.toml", "--checkpoint-every", "500"] if attempt == 0 else \
               ["--resume", "e.ckpt.h5", "--checkpoint-every", "500"]
        proc = subprocess.Popen([RATESIM, "run", "-q", *args], cwd=d)
        # The first run is killed only once it has written a checkpoint (a slow machine or
        # a sanitizer build may need longer than the random delay for the first one; until
        # then the path holds only the run's empty claim).
        ckpt = os.path.join(d, "e.ckpt.h5")
        deadline = time.time() + 120
        while attempt == 0 and time.time() < deadline and proc.poll() is None and not (
                os.path.exists(ckpt) and os.path.getsize(ckpt) > 0):
            time.sleep(0.01)
        time.sleep(0.3 + rng.random() * 0.4)
        proc.kill()
        proc.wait()
        with h5py.File(os.path.join(d, "e.ckpt.h5"), "r") as f:
            reached.append(int(f["integers/simulation.steps"][0]))
    check(0 < reached[0] <= reached[1] <= reached[2] < 100000,
          f"SIGKILL: each kill leaves a readable checkpoint, at steps {reached}")
    p = run(d, "--resume", "e.ckpt.h5", expect=0)
    check(p.returncode == 0, "SIGKILL: resumes from the last checkpoint")
    same_output(ref, os.path.join(d, "out.h5"), "killed three times with SIGKILL")

    # 4. Another configuration or version: refused (exit 2) unless --force.
    d = folder_with(QUASI_STATIC, "refuse")
    run(d, "e.toml", "--stop-at", "1000", expect=0)
    shutil.copy(os.path.join(d, "e.ckpt.h5"), os.path.join(d, "saved.h5"))
    p = run(d, "--resume", "e.ckpt.h5", "--set", "projection.ff.rule.tau=60")
    check(p.returncode == 2 and "configuration differs" in p.stderr,
          f"another configuration: exit {p.returncode}, {p.stderr.strip()}")
    p = run(d, "--resume", "e.ckpt.h5", "--set", "projection.ff.rule.tau=60", "--force", expect=0)
    check(p.returncode == 0 and "warning" in p.stderr, "another configuration with --force: runs, warns")
    with h5py.File(os.path.join(d, "saved.h5"), "r+") as f:
        del f["text/ratesim_version"]
        f["text/ratesim_version"] = "0.0.0"
    p = run(d, "--resume", "saved.h5", "--checkpoint", "other.h5")
    check(p.returncode == 2 and "ratesim 0.0.0" in p.stderr,
          f"another version: exit {p.returncode}, {p.stderr.strip()}")

    # 5. A damaged checkpoint: exit 3.
    with open(os.path.join(d, "saved.h5"), "rb") as f:
        head = f.read(3000)
    with open(os.path.join(d, "cut.h5"), "wb") as f:
        f.write(head)
    p = run(d, "--resume", "cut.h5")
    check(p.returncode == 3 and "cut.h5" in p.stderr, f"a cut checkpoint: exit {p.returncode}, {p.stderr.strip()}")
finally:
    shutil.rmtree(base, ignore_errors=True)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
