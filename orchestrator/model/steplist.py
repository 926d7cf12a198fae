"""A scenario's list of steps: each step read by its action key (STEP_KINDS, in the order scenarios/README.md
lists them; parse_step), and the list walked with the key a report gives each step (keyed_steps)."""
from __future__ import annotations

from collections.abc import Sequence

from .document import Node
from .steps import Group, Netstat, Parallel, Send, Signal, Start, Step, StepReader, Stop, Wait


def keyed_steps(steps: Sequence[Step], prefix: str = "steps") -> list[tuple[str, Step]]:
    """Every step with the key StepResult uses for it ('steps[3]', 'steps[3].parallel[1]'), in order."""
    found: list[tuple[str, Step]] = []
    for i, step in enumerate(steps):
        key = f"{prefix}[{i}]"
        found.append((key, step))
        found.extend(keyed_steps(step.substeps(), f"{key}.parallel"))
    return found

#: The action keys of a step, in the order scenarios/README.md lists them, and the kind that reads each.
STEP_KINDS = {k.ACTION: k for k in (Start, Send, Wait, Netstat, Signal, Stop, Parallel)}
ACTIONS = tuple(STEP_KINDS)


def parse_step(r: StepReader, node: Node, group: Group) -> Step:
    """One step: a mapping with exactly one action key (and, for parallel only, a timeout beside it)."""
    m = node.mapping(ACTIONS + ("timeout",), rule="a mapping with one action key (" + ", ".join(ACTIONS) + ")",
                     example="{wait: {port: 5000, host: server}}")
    action = m.one_of(ACTIONS, "a step", example="{wait: {port: 5000, host: server}}")
    if "timeout" in m and action != "parallel":
        m["timeout"].fail(f"a timeout beside the action is only for parallel; put it inside the action, "
                          f"e.g. {{{action}: {{..., timeout: 5}}}}")
    body = m[action]
    return STEP_KINDS[action].parse(r, body, body.where, group, m)


__all__ = ["STEP_KINDS", "ACTIONS", "parse_step", "keyed_steps"]
