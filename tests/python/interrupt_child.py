"""A long run that test_interrupt.py interrupts with SIGINT: prints "ready" when the run
starts, "interrupted <seconds>" when KeyboardInterrupt arrives, then checks that the
simulation goes on from where it stopped. Usage: interrupt_child.py MODE [DIR]."""

import os
import sys
import time

import ratesim
from test_interrupt import circuit

SOURCE = os.environ.get("RATESIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


class Scaling(ratesim.Rule):
    def derivative(self, W, pre, post):
        return post[:, None] * (pre[None, :] - W) / 500.0


def main(mode, folder):
    if mode == "quasi_static":
        sim = ratesim.QuasiStaticSimulation(circuit())
        run, again = (lambda: sim.run_presentations(50_000_000)), (lambda: sim.run_presentations(10))
    elif mode == "python_rule":
        sim = ratesim.QuasiStaticSimulation(circuit(Scaling()))
        run, again = (lambda: sim.run_presentations(50_000_000)), (lambda: sim.run_presentations(10))
    elif mode == "ode":  # the size of MNIST at C = 100: one rk4 step takes milliseconds
        sim = ratesim.OdeSimulation(circuit(D=784, C=100, A=900.0, duration=10.0), stepper="rk4", dt=0.1)
        run, again = (lambda: sim.run(1e7)), (lambda: sim.run(0.5))
    elif mode == "experiment":
        config = os.path.join(SOURCE, "examples", "keck2012.toml")
        overrides = ["run.presentations=50000000", f"output.file={os.path.join(folder, 'k.h5')}"]
        checkpoint = os.path.join(folder, "k.ckpt.h5")
        run = lambda: ratesim.run_experiment(config, overrides, checkpoint=checkpoint)  # noqa: E731
        again = lambda: ratesim.run_experiment(resume=checkpoint, stop_at=ratesim_time(checkpoint) + 10.0)  # noqa: E731
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("ready", flush=True)
    try:
        run()
    except KeyboardInterrupt:
        print(f"interrupted {time.monotonic():.6f}", flush=True)
    else:
        raise SystemExit("the run ended without KeyboardInterrupt")
    before = sim.steps if mode != "experiment" else None
    again()
    if before is not None and sim.steps <= before:
        raise SystemExit("the simulation did not go on after the interrupt")
    print("went on", flush=True)


def ratesim_time(checkpoint):
    import h5py

    with h5py.File(checkpoint, "r") as f:
        # The clock of the checkpoint (docs/checkpoints.md): steps × dt [ms].
        return float(f["integers/simulation.steps"][()]) * float(f["numbers/simulation.dt"][()])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ".")
