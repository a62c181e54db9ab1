"""Progress bars for long runs (progress=True): tqdm when it is installed (Debian's
python3-tqdm), otherwise one line on stderr rewritten in place."""

import sys
import time


def bar(total, unit):
    """A callable(done, total) with close() that shows how far a run of `total` `unit` is."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Line(total, unit)
    return _Tqdm(tqdm(total=total, unit=f" {unit}", unit_scale=True, dynamic_ncols=True))


class _Tqdm:
    def __init__(self, progress):
        self.progress = progress

    def __call__(self, done, total):
        self.progress.update(done - self.progress.n)

    def close(self):
        self.progress.close()


class _Line:
    def __init__(self, total, unit):
        self.total, self.unit, self.started = total, unit, time.monotonic()

    def __call__(self, done, total):
        seconds = time.monotonic() - self.started
        percent = 100.0 * done / total if total else 100.0
        print(f"\r{done}/{total} {self.unit} ({percent:.0f}%, {seconds:.1f} s)", end="", file=sys.stderr, flush=True)

    def close(self):
        print(file=sys.stderr, flush=True)
