"""The same randomness every time, for every program the lab runs (README, Grading: the same points every
time). Python imports this module at start-up (PYTHONPATH=/opt/socklab/site, set by the runner): it seeds
Python's `random` with a fixed value, so a program that draws from it (a random delay, a random exit status)
does the same thing in every play; PYTHONHASHSEED=0 fixes the order of sets and dicts of strings. What the
program asks of the kernel (os.urandom, secrets, uuid4) is left as it is, and so is the order in which the
kernel schedules its threads."""
import random

random.seed(20261201)
