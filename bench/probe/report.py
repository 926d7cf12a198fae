"""The figures printed: the limits in force, as the runs and their messages stated them, and the table."""
from __future__ import annotations

import re
import subprocess
import time

from tests.support import ROOT

from .table import Group


def limits_seen(groups: list[Group]) -> dict[str, str]:
    seen: dict[str, str] = {}
    cases = [c for g in groups for c in g.cases]
    for c in cases:
        for host, lim in (c.detail.get("limits") or {}).items():
            if lim.get("pids_max"):
                seen.setdefault("processes (pids) per lab host", f"{lim['pids_max']}")
            if lim.get("memory_max"):
                seen.setdefault("memory per lab host", f"{lim['memory_max'] // 2**20} MiB")
    messages = " \n".join([c.detail.get("message", "") for c in cases]
                          + [" ".join(c.detail.get("stopped_by_limits", [])) for c in cases]
                          + [" ".join(c.detail.get("notes", [])) for c in cases]
                          + [str((c.detail.get("capture") or {}).get("overflow") or "") for c in cases])
    patterns = {
        "a submission's program file (bytes)": r"a program file may be at most ([\d,]+)",
        "a submission's .py files": r"\.py files; at most (\d+) are read",
        "a submission's bytes in all": r"bytes in all; at most ([\d,]+) are read",
        "a scenario or compose file": r"a file here may be at most ([\d,]+ bytes[^)]*\))",
        "values in a YAML file (aliases expanded)": r"more than ([\d,]+) values",
        "YAML nesting": r"more than (\d+) lists and mappings inside one another",
        "digits of a whole number": r"at most ([\d,]+) digits",
        "durations in a scenario (s)": r"at timeout: must be a number greater than 0 and at most (\d+)",
        "packets captured": r"at least ([\d,]+) packets",
        "output per program": r"(its output went past the limit; only its beginning was kept)",
        "tmpfs (/tmp, home, /dev/shm)": r"wrote (\d+ MiB), then: \[Errno 28\]",
    }
    for name, pattern in patterns.items():
        m = re.search(pattern, messages, re.IGNORECASE)
        if m:
            seen[name] = m.group(1)
    return seen


def render(groups: list[Group], limits: dict, total: float, args) -> str:
    out = []
    w = max(len(g.title) for g in groups) if groups else 20
    out.append("")
    out.append(f"socklab reliability probe ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')},"
               f" commit {git_head()}, total {total:.0f} s")
    out.append("")
    out.append(f"{'group':<{w + 3}} {'tried':>6} {'handled':>8} {'not handled':>12} {'time':>7}")
    for g in groups:
        out.append(f"{g.key}. {g.title:<{w}} {len(g.cases):>6} {g.handled:>8} {len(g.cases) - g.handled:>12}"
                   f" {g.seconds:>6.0f}s")
    tried = sum(len(g.cases) for g in groups)
    handled = sum(g.handled for g in groups)
    out.append(f"{'   all':<{w + 3}} {tried:>6} {handled:>8} {tried - handled:>12} {total:>6.0f}s")
    for g in groups:
        out.append("")
        out.append(f"{g.key}. {g.title}")
        for k, v in g.figures.items():
            out.append(f"     {k}: {v}")
        if g.key == "1":
            for c in g.cases:
                stopped = c.detail.get("stopped_by_limits") or []
                if stopped:
                    out.append(f"     what the limits stopped, {c.id}: " + " | ".join(stopped))
        for c in g.cases:
            if not c.handled:
                out.append(f"   NOT HANDLED {c.id}: exit {c.code}, {c.seconds} s")
                for p in c.problems:
                    out.append(f"       - {p[:600]}")
                out.append(f"       reproduce: {c.repro}")
    out.append("")
    out.append("limits in force (as the runs and messages stated them)")
    for k, v in limits.items():
        out.append(f"     {k}: {v}")
    return "\n".join(out)


def git_head() -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or "?"
