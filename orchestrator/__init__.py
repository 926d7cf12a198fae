"""socklab orchestrator: builds the lab's images, plays scenarios on the lab and grades submissions.

In layers, one sub-package each, each importing only those below it: base <- model <- evidence <- lab <- play
<- judge <- report <- grade <- cli (README, Architecture; tests/unit/test_architecture.py holds it). The
model is plain data; only lab/engine.py imports the Docker SDK.
"""

__version__ = "0.1.0"
