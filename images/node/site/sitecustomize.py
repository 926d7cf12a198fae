"""The same randomness every time, for every program the lab runs (README, Grading: the same points every
time). Python imports this module at start-up (PYTHONPATH=/opt/socklab/site, set by the runner): it seeds
Python's `random` with a fixed value, so a program that draws from it (a random delay, a random exit status)
does the same thing in every play; PYTHONHASHSEED=0 fixes the order of sets and dicts of strings. What the
program asks of the kernel (os.urandom, secrets, uuid4) is left as it is, and so is the order in which the
kernel schedules its threads.

It also drops what a program prints past the lab's output limit (below)."""
import random

random.seed(20261201)

# What a program prints past the lab's output limit is not kept (the orchestrator keeps the first
# SOCKLAB_OUTPUT_LIMIT bytes of each program's output and marks the rest as cut): it is dropped here, in
# the program, once it has printed a little more than the limit (so the orchestrator still sees the cut and
# says so). Without this, a program printing a flood (2,000,000 debug lines before it sends) waited on its
# pipe for the lab to read every line through the Docker Engine, about 10,000 lines a second, and whether it
# got to send before the run's end depended on how busy the machine was; now it runs at its own pace, the
# same in every play. Only what goes through sys.stdout and sys.stderr is counted (print, tracebacks).
SLACK = 1 << 16  # characters passed on past the limit: at least as many bytes


class _Capped:
    """sys.stdout or sys.stderr, passing on writes while the program's shared budget lasts."""

    def __init__(self, stream, budget):
        self._stream, self._budget = stream, budget

    def write(self, text):
        if self._budget[0] <= 0:
            return len(text)
        self._budget[0] -= len(text)
        return self._stream.write(text)

    def __getattr__(self, name):  # everything else is the stream's own (flush, fileno, encoding, buffer...)
        return getattr(self._stream, name)


def _cap_output():
    import os
    import sys
    limit = os.environ.get("SOCKLAB_OUTPUT_LIMIT", "")
    if not limit.isdigit():
        return
    budget = [int(limit) + SLACK]  # shared: the limit counts both streams together
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None:
            setattr(sys, name, _Capped(stream, budget))


_cap_output()
