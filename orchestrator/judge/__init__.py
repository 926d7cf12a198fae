"""The judge: pure functions from a scenario and its evidence to outcomes, a verdict and an exit code."""
