"""`make probe`: the reliability probe (issue 7). Re-runs the probes behind README's Reliability section against
the orchestrator as a black box (`python -m orchestrator` in subprocesses, the `docker` CLI to look at what is
left) and prints one table of figures: cases tried, handled, not handled, and the limits in force.

Groups:
  1 hostile submissions: every folder of tests/hostile/ (the scenario of its README's table) and more written
    here (fork bomb in a client, oom_score_adj, output without newlines, 1 GiB of output, 100 ports, 20,000
    sockets, privileges, ...), run 3 at a time as grading would; and folders that must be refused before any
    Docker work (a link, a FIFO, a folder, an oversized file named like a program, ...)
  2 broken scenario files through `validate --no-filters`: tests/scenarios/invalid/, generated ones (alias
    bombs, deep nesting, huge numbers, special files, random bytes, ...) and mutations of the shipped scenarios
    and of compose.yaml; each is killed after 20 s (a hang)
  3 bad command lines
  4 signals (SIGINT, SIGTERM, SIGKILL) at every phase of a slow run: every 20 ms of the start-up, every few ms
    into the lab's creation, as the capture starts, during the steps, and a second signal as the teardown begins;
    after SIGKILL, how long until no container of the run runs and whether `clean --run` removes the rest
  5 runs under load: the shipped scenarios, 4 at a time

A case is *handled* when the orchestrator did what README promises: a judged verdict (pass/fail, never an
error of the environment the submission caused), exit codes 0/1/2/130 as documented, no Traceback, no hang,
nothing labelled with the run left behind, and for hostile cases the sandbox held (e.g. the host was not
reached). Anything else is listed with what was seen and how to reproduce it.

Usage (from the repository root):  .venv/bin/python -m bench.probe [--quick] [--json FILE] [--only REGEX]
Only the project's own containers exchange traffic; the gateway probe targets the gateway address of the run's
own network, where a listener of this probe's own waits (and must see nothing).

One module per part: process (the orchestrator's processes, the docker CLI), table (cases and groups), one per
group (hostile, broken, command_lines, signals, load), report (the limits seen, the table printed); __main__
is the command. The hostile cases are the tests' own (tests/support/hostile.py).
"""
