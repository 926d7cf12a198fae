"""What the tests (and bench/) share, in one place: the repository's root here, the builders of made-up runs
and gradings in the modules beside it. A test file imports from here, never from another test file.

- `tests.support`: ROOT, the repository's root.
- `tests.support.recorded`: the tcp-exchange scenario built by hand and a good run of it as the reference
  programs, netstat and tshark would have recorded it (the checks' and the reports' tests).
- `tests.support.grading`: the echo scenario, the topology and the settings the grading tests grade with
  against the fake engine (`tests/unit/fake_engine.py`).
- `tests.support.pages`: a small DOM from html.parser to assert on the grading's pages (test_gradebook,
  test_similarity).
- `tests.support.hostile`: the hostile submissions of tests/hostile/ as code (which scenario plays each, the
  gateway probe's listener), for tests/integration/test_hostile.py and bench/probe/.
- `tests.support.integration`: the integration tests' helpers: the docker CLI, tshark in the capture image,
  what carries a label, waits that poll, and `socklab grade` for real.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
