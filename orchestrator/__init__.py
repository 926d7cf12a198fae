"""socklab orchestrator: builds the lab's images, plays scenarios on the lab and grades submissions.

Dependencies run one way: cli -> grading -> runner -> {engine, waits, capture}; checks and report are
pure functions over the evidence a run collects; scenario and topology are plain data; everything may
import errors. Only engine.py imports the Docker SDK.
"""

__version__ = "0.1.0"
