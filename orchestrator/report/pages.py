"""The HTML pages of the reports (templates in orchestrator/templates/, rendered by jinja2 with autoescape):
everything from a run is escaped, every page is one self-contained file.

This module holds the environment the page writers share; the pages themselves are pure functions of
plain data (a report dict, the evidence, the grades) that return the page's text.
"""
from __future__ import annotations

import functools

import jinja2

from ..base.text import escaped_lines


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on for every template (HTML and SVG alike), undefined names
    an error (a template that names what it is not given fails in the tests, not silently on a page)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("orchestrator.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["seconds"] = lambda x, digits=3: "" if x is None else f"{x:.{digits}f}"
    env.globals["inf"] = float("inf")
    # what programs printed, shown with its invisible characters escaped (a right-to-left override, an escape
    # sequence): the browser would not run them, but they could make a line read as what it is not
    env.filters["shown"] = escaped_lines
    return env


def render(template: str, **data) -> str:
    """A template rendered with `data`."""
    return environment().get_template(template).render(**data)


__all__ = ["environment", "render"]
