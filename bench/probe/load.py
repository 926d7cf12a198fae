"""Group 5, runs under load: the shipped scenarios, 4 at a time."""
from __future__ import annotations

import json
import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support import ROOT

from .process import HANG_RUN, labelled, orchestrator, summary_of
from .table import Case, Group, selected


def group_load(args, base: Path, only) -> Group:
    g = Group("5", f"runs under load ({args.runs} runs of the shipped scenarios, 4 at a time)")
    scenarios = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    plan = selected([(i, scenarios[i % len(scenarios)]) for i in range(args.runs)], only,
                    key=lambda p: f"load-{p[0]}:{p[1]}")

    def one(item) -> Case:
        i, scenario = item
        runs = base / "load" / f"{i:03d}"
        res = orchestrator("run", scenario, "--runs-dir", str(runs), timeout=HANG_RUN)
        c = Case("5", f"load-{i}:{scenario}", scenario, code=res.code, seconds=res.seconds,
                 repro=f"python -m orchestrator run {scenario}   (4 at a time)")
        reports = sorted(runs.glob("*/report.json"))
        rep = json.loads(reports[0].read_text()) if len(reports) == 1 else None
        c.detail["verdict"] = rep["verdict"] if rep else None
        if rep is None:
            c.problems.append(f"no report (exit {res.code}): {summary_of(res.err + res.out)}")
        else:
            if rep["verdict"] != "pass" or res.code != 0:
                failed = [f"{ch['name']}: {ch['evidence'][:200]}" for ch in rep["checks"] if not ch["passed"]]
                steps = [f"{s['key']}: {s['message'][:200]}" for s in rep["steps"] if s["status"] == "failed"]
                c.problems.append(f"flake: verdict {rep['verdict']}, exit {res.code}; error {rep.get('error')}; "
                                  f"steps {steps}; checks {failed}")
            left = labelled(f"socklab.run={rep['run_id']}")
            if left:
                c.problems.append(f"left behind: {left}")
        if res.traceback:
            c.problems.append("Traceback: " + summary_of(res.err))
        if res.hung:
            c.problems.append("hung")
        return c.judge()

    with ThreadPoolExecutor(max_workers=4) as pool:
        g.cases = list(pool.map(one, plan))
    for c in g.cases:
        if not c.handled:
            print(f"  [NOT] {c.id}: {'; '.join(c.problems)[:400]}", flush=True)
    times = [c.seconds for c in g.cases if c.seconds is not None]
    g.figures = {"runs": len(g.cases), "flakes (not pass)": sum(c.detail.get("verdict") != "pass" or c.code != 0
                                                               for c in g.cases),
                 "verdicts": dict(Counter(str(c.detail.get("verdict")) for c in g.cases)),
                 "median wall time (s)": round(statistics.median(times), 2) if times else None,
                 "max wall time (s)": max(times, default=None)}
    return g
