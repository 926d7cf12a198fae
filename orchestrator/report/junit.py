"""JUnit XML, one writer for every file of it: test suites and their cases as plain data in, the file's text out.

A run's report is one <testsuite> (report.junit_xml: a testcase per check, per failed step, and one for a
run that could not be carried out); a student's grade is <testsuites>, a <testsuite> per scenario
(gradebook.junit). What each says is theirs; how it is written is this module's: the attributes in the
same order, indented, and every text made XML-safe (XML 1.0 cannot hold every character a program prints).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from ..base.text import xml_safe

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class Problem:
    """Why a testcase did not pass: a <failure> (a check or a step failed) or an <error> (it could not run)."""
    tag: str  # "failure" or "error"
    message: str  # its message attribute: a line
    text: str  # its text: all of it
    type: str | None = None  # its type attribute, if any


@dataclass(frozen=True)
class Case:
    """One <testcase>."""
    name: str
    classname: str
    time: float | None = None  # seconds, if known
    problem: Problem | None = None  # None: it passed


@dataclass(frozen=True)
class Suite:
    """One <testsuite>: its failures and errors are counted from its cases."""
    name: str
    cases: Sequence[Case]
    tests: int | None = None  # None: one per case
    skipped: int | None = None  # written only when given
    time: float | None = None  # seconds, if known
    timestamp: str | None = None  # written only when given
    properties: Sequence[tuple[str, str]] = ()  # (name, value); none: no <properties>


def _case(case: Case) -> ET.Element:
    el = ET.Element("testcase", {"name": case.name, "classname": case.classname})
    if case.time is not None:
        el.set("time", f"{case.time:.3f}")
    if case.problem is not None:
        attrs = {"message": case.problem.message}
        if case.problem.type is not None:
            attrs["type"] = case.problem.type
        ET.SubElement(el, case.problem.tag, attrs).text = case.problem.text
    return el


def _suite(suite: Suite) -> ET.Element:
    failures = sum(1 for c in suite.cases if c.problem is not None and c.problem.tag == "failure")
    errors = sum(1 for c in suite.cases if c.problem is not None and c.problem.tag == "error")
    attrs = {"name": suite.name, "tests": str(len(suite.cases) if suite.tests is None else suite.tests),
             "failures": str(failures), "errors": str(errors)}
    if suite.skipped is not None:
        attrs["skipped"] = str(suite.skipped)
    if suite.time is not None:
        attrs["time"] = f"{suite.time:.3f}"
    if suite.timestamp is not None:
        attrs["timestamp"] = suite.timestamp
    el = ET.Element("testsuite", attrs)
    if suite.properties:
        props = ET.SubElement(el, "properties")
        for name, value in suite.properties:
            ET.SubElement(props, "property", {"name": name, "value": value})
    el.extend(_case(c) for c in suite.cases)
    return el


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return HEADER + xml_safe(ET.tostring(root, encoding="unicode")) + "\n"


def suite_xml(suite: Suite) -> str:
    """A JUnit file of one <testsuite>."""
    return _document(_suite(suite))


def suites_xml(name: str, suites: Sequence[Suite]) -> str:
    """A JUnit file of <testsuites name=...>, a <testsuite> each."""
    root = ET.Element("testsuites", {"name": name})
    root.extend(_suite(s) for s in suites)
    return _document(root)


__all__ = ["Case", "Problem", "Suite", "suite_xml", "suites_xml"]
