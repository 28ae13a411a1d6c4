"""Small PromQL helpers: build selectors, and find the metric names an expression reads."""

from __future__ import annotations

import re

# Words that look like metric names in PromQL but are not.
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def selector(metric: str, *matchers: str) -> str:
    """selector("up", 'job="node"') -> up{job="node"}"""
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def eq(label: str, value: str) -> str:
    return f'{label}="{value}"'


def metric_names(expr: str) -> set[str]:
    """Metric names (and recording rule names) an expression selects.

    A lexer, not a parser: good enough for the expressions this package writes, and
    proven against a live Prometheus by the live tests (a name it missed or invented
    shows up there).
    """
    text = _STRING.sub('""', expr)
    text = _LABEL_LIST.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for name, call in _NAME.findall(text):
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
