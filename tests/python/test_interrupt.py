"""Interactive use: Ctrl-C raises KeyboardInterrupt promptly in every long call, the
simulation goes on from where it stopped, and the GIL is released while the engine runs.
Run with PYTHONPATH=<build>/python."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import ratesim

HERE = os.path.dirname(os.path.abspath(__file__))


def circuit(rule="synaptic_scaling", D=16, C=4, A=48.0, duration=1.0):
    """Feedforward inhibition, softmax competition, a plastic projection "ff" (a rule by name
    with tau = 50 ms, or a ratesim.Rule), random patterns of `duration` ms each."""
    rng = np.random.default_rng(1)
    W0 = rng.uniform(1.0, 2.0, size=(C, D))
    W0 *= A / W0.sum(axis=1, keepdims=True)
    net = ratesim.Network()
    net.add_population("feedforward_inhibition", "input", size=D, A=A)
    net.add_population("softmax_competition", "output", size=C)
    net.connect("input", "output", "ff", W0, rule=rule, **({"tau": 50.0} if isinstance(rule, str) else {}))
    net.stimulate_patterns("input", rng.uniform(0.5, 10.0, size=(50, D)), duration=duration, shuffle=True, seed=3)
    return net


def interrupt_after(seconds):
    """SIGINT to this process after `seconds`, as Ctrl-C would send it."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


class CtrlC(unittest.TestCase):
    def interrupt_child(self, mode, wait=1.0, limit=0.5):
        """Starts interrupt_child.py MODE, sends SIGINT `wait` s into its run, and returns
        how long KeyboardInterrupt took to arrive."""
        with tempfile.TemporaryDirectory() as folder:
            child = subprocess.Popen([sys.executable, os.path.join(HERE, "interrupt_child.py"), mode, folder],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            def expect(word):
                line = child.stdout.readline().split()
                if line[:1] != [word]:
                    child.kill()
                    self.fail(f"{mode}: expected {word!r}, got {line}; stderr: {child.stderr.read()}")
                return line

            try:
                expect("ready")
                time.sleep(wait)
                sent = time.monotonic()
                child.send_signal(signal.SIGINT)
                delay = float(expect("interrupted")[1]) - sent  # both clocks are CLOCK_MONOTONIC
                expect("went")
                self.assertEqual(child.wait(timeout=60), 0)
            finally:
                child.kill()
                child.wait()
                child.stdout.close()
                child.stderr.close()
        self.assertLess(delay, limit, f"{mode}: KeyboardInterrupt came {delay:.3f} s after SIGINT")
        return delay

    def test_a_quasi_static_run_stops_within_half_a_second(self):
        self.interrupt_child("quasi_static")

    def test_a_run_with_a_python_rule_stops_within_half_a_second(self):
        self.interrupt_child("python_rule")

    def test_an_ode_run_of_a_large_network_stops_within_half_a_second(self):
        self.interrupt_child("ode")

    def test_an_experiment_stops_within_a_second_and_resumes(self):
        # Before it raises, an experiment writes its checkpoint and syncs it to disk, which
        # takes a few tenths of a second on a busy machine.
        self.interrupt_child("experiment", limit=1.0)

    def test_an_interrupted_run_goes_on_bit_for_bit(self):
        straight = circuit()
        interrupted = circuit()
        sim = ratesim.QuasiStaticSimulation(interrupted, batch_size=3)
        timer = interrupt_after(0.3)
        with self.assertRaises(KeyboardInterrupt):
            sim.run_presentations(10**9)
        timer.join()
        done = sim.presentations
        self.assertGreater(done, 0)
        sim.run_presentations(1000)  # an open mini-batch goes on where it was
        ratesim.QuasiStaticSimulation(straight, batch_size=3).run_presentations(done + 1000)
        np.testing.assert_array_equal(interrupted.weights("ff"), straight.weights("ff"))

    def test_an_interrupted_ode_run_goes_on_bit_for_bit(self):
        straight = circuit()
        interrupted = circuit()
        sim = ratesim.OdeSimulation(interrupted, stepper="dopri5", dt=0.1)
        timer = interrupt_after(0.3)
        with self.assertRaises(KeyboardInterrupt):
            sim.run(1e9)
        timer.join()
        steps = sim.steps
        sim.run_steps(500)
        ratesim.OdeSimulation(straight, stepper="dopri5", dt=0.1).run_steps(steps + 500)
        np.testing.assert_array_equal(interrupted.state(), straight.state())

    def test_a_handler_that_does_not_raise_lets_the_run_finish(self):
        calls = []
        previous = signal.signal(signal.SIGINT, lambda number, frame: calls.append(number))
        try:
            net = circuit()
            sim = ratesim.QuasiStaticSimulation(net)
            # Long enough for the signal to arrive during the run: about 1 s.
            timer = interrupt_after(0.2)
            sim.run_presentations(2_000_000)
            timer.join()
        finally:
            signal.signal(signal.SIGINT, previous)
        self.assertEqual(calls, [signal.SIGINT])
        self.assertEqual(sim.presentations, 2_000_000)

    def test_other_threads_run_while_a_simulation_runs(self):
        sim = ratesim.QuasiStaticSimulation(circuit())
        counted = []
        stop = threading.Event()

        def count():
            n = 0
            while not stop.is_set():
                n += 1
            counted.append(n)

        thread = threading.Thread(target=count)
        thread.start()
        time.sleep(0.05)
        started = time.monotonic()
        sim.run_presentations(500_000)
        took = time.monotonic() - started
        stop.set()
        thread.join()
        # With the GIL held for the whole run, the counter would get one switch interval
        # (5 ms) at most.
        self.assertGreater(took, 0.1)
        self.assertGreater(counted[0], 10_000)

    def test_a_simulation_runs_once_at_a_time(self):
        errors = []

        class Reentrant(ratesim.Rule):
            """Runs its own simulation again from inside it."""

            def derivative(self, W, pre, post):
                try:
                    sim.run_presentations(20)
                except ratesim.UsageError as e:
                    errors.append(str(e))
                return np.zeros_like(W)

        sim = ratesim.QuasiStaticSimulation(circuit(rule=Reentrant()))
        sim.run_presentations(1)
        self.assertEqual(len(errors), 1)
        self.assertIn("running already", errors[0])


if __name__ == "__main__":
    unittest.main()
