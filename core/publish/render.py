"""Jinja2 templates for what people read: summary.md, the episode's Prefect artifact, index.html.

HTML templates escape everything (autoescape); Markdown templates escape
through the ``md`` filter, so text from a feed or a model cannot inject
links, HTML or formatting.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from core.text import clock, duration_clock

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def markdown_escape(value: Any) -> str:
    """Text shown literally in Markdown: every character with a meaning there is backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


@functools.lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("core.publish", "templates"),
        autoescape=select_autoescape(["html", "html.j2", "xml", "xml.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["clock"] = clock
    env.filters["duration"] = duration_clock
    return env


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)
