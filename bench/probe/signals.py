"""Group 4, signals (SIGINT, SIGTERM, SIGKILL) at every phase of a slow run, and after SIGKILL how long until
no container of the run runs and whether `clean --run` removes the rest."""
from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from pathlib import Path

from .process import PY, Child, labelled, orchestrator, remove_labelled, run_ids_of, running, summary_of
from .table import Case, Group, selected


SLOW = """\
name: {name}
description: a server that never says what the scenario waits for (bench/probe.py interrupts or kills the run)
hosts: [server, client]
steps:
  - start: {{id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}}
  - wait: {{port: 5000, host: server}}
  - wait: {{program: server, log: "this never comes", timeout: 60}}
checks:
  - name: listening
    log: {{program: server, match: "listening"}}
"""

# moment: (description, how to reach it). Triggers are lines of `run -v`: phases ('lab', 'capture-start') and steps.
STARTUP = [round(0.05 + 0.02 * i, 2) for i in range(16)]  # 0.05 .. 0.35 s: Python starting, then the imports
INTO_LAB = [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.25]  # seconds after the phase 'lab' begins
MOMENTS = {
    **{f"startup-{t:.2f}s": f"{t:.2f} s after the start (Python starting up, importing)" for t in STARTUP},
    **{f"lab+{t:.2f}s": f"{t:.2f} s into the lab's creation (after `run -v` prints the phase 'lab')" for t in INTO_LAB},
    "capture-start": "as the capture starts (phase 'capture-start')",
    "steps": "during the steps (in a 60 s wait)",
    "teardown": "as the teardown begins (phase 'teardown'), after a first SIGINT during the steps",
}
SETTLE = 2.0  # a killed run has settled when no container of it has run for this long


def reach(child: Child, moment: str, until: float) -> bool:
    """Wait for `moment` of the run; False if the run ended (or the deadline passed) first."""
    if moment.startswith("startup-"):
        time.sleep(max(0.0, float(moment.split("-")[1].rstrip("s")) - (time.monotonic() - child.t0)))
        return child.alive()
    want = "lab" if moment.startswith("lab+") else moment
    while (line := child.next_line(until)) is not None:
        text = line.strip()
        if text == want or (want == "steps" and "steps[1]" in text):
            if moment.startswith("lab+"):
                time.sleep(float(moment[4:].rstrip("s")))
            return True
    return False


def settle(label: str) -> tuple[float, bool]:
    """After a kill: seconds until the last time a container of the run was seen running (the engine may
    still start one it was asked to start), once none has run for SETTLE s; and whether one still runs at 30 s."""
    t0 = time.monotonic()
    last_running = None
    while time.monotonic() - t0 < 30:
        if running(label):
            last_running = time.monotonic() - t0
        elif time.monotonic() - t0 - (last_running or 0) >= SETTLE:
            return round(last_running or 0.0, 2), False
        time.sleep(0.1)
    return round(last_running or 0.0, 2), bool(running(label))


def play_signal(sig: signal.Signals, moment: str, base: Path) -> tuple[Case, str]:
    name = f"probe-sig-{uuid.uuid4().hex[:8]}"
    folder = base / "signals" / name
    folder.mkdir(parents=True)
    scenario = folder / f"{name}.yaml"
    scenario.write_text(SLOW.format(name=name))
    label = f"socklab.scenario={name}"
    first = "SIGINT, then " if moment == "teardown" else ""
    c = Case("4", f"{sig.name}@{moment}", f"{first}{sig.name} {MOMENTS[moment]}",
             repro=f"python -m orchestrator run -v SLOW.yaml (the SLOW scenario of tests/integration/"
                   f"test_orchestrator.py), then {first}{sig.name} {MOMENTS[moment]}; then look for "
                   f"label={label.split('=')[0]}=<its name>")
    child = Child([PY, "-m", "orchestrator", "run", "-v", str(scenario), "--runs-dir", str(folder / "runs")])
    reached = reach(child, moment if moment != "teardown" else "steps", time.monotonic() + 90)
    if moment == "teardown" and reached:
        child.signal(signal.SIGINT)
        reached = False
        while (line := child.next_line(time.monotonic() + 30)) is not None:
            if line.strip() == "teardown":
                reached = True
                break
    sent_at = time.monotonic()
    child.signal(sig)
    res = child.wait(90)
    c.code, c.seconds = res.code, res.seconds
    c.detail.update(reached=reached, traceback=res.traceback, exit_after_signal_s=round(child.t_end - sent_at, 3),
                    stderr_tail=res.err[-3000:])
    if not reached:
        c.problems.append(f"the run ended before the moment was reached (exit {res.code}): "
                          f"{summary_of(res.err + res.out)}")
    if res.traceback:
        c.problems.append("Traceback: " + summary_of(res.err))
    if res.hung:
        c.problems.append("did not exit within 90 s of the signal")
    run_ids = run_ids_of(label) | {p.name for p in (folder / "runs").glob("*") if p.is_dir()}
    c.detail["run_ids"] = sorted(run_ids)
    if sig == signal.SIGKILL:
        last, still = settle(label)
        c.detail["containers_stopped_after_s"] = last
        if still:
            c.problems.append(f"container(s) still running 30 s after the kill: {running(label)}")
        cleans = [orchestrator("clean", "--run", run_id, timeout=60) for run_id in sorted(run_ids_of(label) | run_ids)]
        c.detail["clean"] = [summary_of(r.out + r.err, 200) for r in cleans]
        for r in cleans:
            if r.code != 0 or r.traceback:
                c.problems.append(f"clean exit {r.code}: {summary_of(r.out + r.err)}")
        left = labelled(label)
        if left:
            c.detail["left_after_clean"] = left
            if all("being set up" in said or "nothing is labelled" in said for said in c.detail["clean"]):
                # documented: a run with nothing started is spared for 2 minutes (its orchestrator may be creating it)
                c.detail["note"] = f"clean spared it as being set up (nothing of it ever started): {left}"
            else:
                c.problems.append(f"after clean --run, left: {left} ({'; '.join(c.detail['clean'])})")
    else:
        if res.code != 130:
            c.problems.append(f"exit {res.code}, expected 130: {summary_of(res.err)}")
        left = labelled(label)
        if left:
            c.problems.append(f"left behind at its exit: {left}")
    return c, label


def group_signals(args, base: Path, only) -> Group:
    g = Group("4", "signals at every phase of a run")
    if args.quick:
        plan = [(signal.SIGINT, f"startup-{t:.2f}s") for t in STARTUP[::3]]
        plan += [(signal.SIGINT, f"lab+{t:.2f}s") for t in INTO_LAB[1:4]]
        plan += [(signal.SIGINT, "steps"), (signal.SIGTERM, "lab+0.25s"), (signal.SIGINT, "teardown"),
                 (signal.SIGKILL, "steps"), (signal.SIGKILL, "lab+0.25s")]
    else:
        plan = [(s, m) for s in (signal.SIGINT, signal.SIGTERM) for m in MOMENTS]
        plan += [(signal.SIGKILL, m) for m in MOMENTS if not m.startswith("startup-") or m == "startup-0.15s"]
    plan = selected(plan, only, key=lambda p: f"{p[0].name}@{p[1]}")
    played = []
    for sig, moment in plan:
        c, label = play_signal(sig, moment, base)
        extra = (f", containers last ran {c.detail['containers_stopped_after_s']} s after the kill"
                 if "containers_stopped_after_s" in c.detail else "")
        print(f"  [{'ok ' if not c.problems else 'NOT'}] {c.id}: exit {c.code}{extra}"
              + (f"  <- {'; '.join(c.problems)[:300]}" if c.problems else f"  ({c.detail['note']})"
                 if c.detail.get("note") else ""), flush=True)
        played.append((c, label))
    # what the engine created after a run had exited (requests still in flight) counts too; then nothing of
    # the probe's runs is left behind, whatever the orchestrator did
    time.sleep(SETTLE)
    for c, label in played:
        left = labelled(label)
        if left and not c.detail.get("left_after_clean"):
            if not any(p.startswith("left behind") for p in c.problems):
                c.problems.append(f"left behind (there after its exit): {left}")
        if left:
            c.detail["removed_by_probe"] = left
            remove_labelled(label)
        g.cases.append(c.judge())
    kills = [c for c in g.cases if c.id.startswith("SIGKILL")]
    stops = [c.detail["containers_stopped_after_s"] for c in kills if "containers_stopped_after_s" in c.detail]
    g.figures = {
        "runs signalled": len(g.cases), "exit codes": dict(Counter(str(c.code) for c in g.cases)),
        "SIGINT/SIGTERM: exit 130": sum(c.code == 130 for c in g.cases if not c.id.startswith("SIGKILL")),
        "SIGINT/SIGTERM: runs that left something": sum(
            bool(c.detail.get("removed_by_probe")) for c in g.cases if not c.id.startswith("SIGKILL")),
        "SIGKILL: longest until no container ran (s)": max(stops, default=None),
        "SIGKILL: containers running 30 s after the kill": sum(any("still running" in p for p in c.problems)
                                                               for c in kills),
        "SIGKILL: clean --run left something": sum(bool(c.detail.get("left_after_clean")) for c in kills),
        "SIGKILL: of which spared as being set up (documented)": sum(bool(c.detail.get("note")) for c in kills),
    }
    return g
