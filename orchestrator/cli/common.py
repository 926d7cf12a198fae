"""What several commands share: the project's folder (their defaults), printing a line, the lab's images."""
from __future__ import annotations

from pathlib import Path

#: the repository (orchestrator/cli/ is two folders below it): compose.yaml, runs/, scenarios/ and git
ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    print(message, flush=True)


def lab_images(engine) -> dict:
    """The lab's images (node, capture) built if their inputs changed, as the evidence records them."""
    from ..lab import images
    from ..evidence import ImageEvidence

    built = images.ensure(engine, ["node", "capture"], progress=say)
    return {name: ImageEvidence(name, b.ref, b.image_id, b.packages_sha256) for name, b in built.items()}
