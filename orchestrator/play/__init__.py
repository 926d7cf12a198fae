"""The play: one run of one scenario, inputs in, evidence out (runner.py), through the verbs the steps use (verbs.py)."""
