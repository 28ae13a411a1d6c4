"""The app's latency histogram and what the rules, their unit tests and the dashboards read
from it: every `le` they name is a bucket the app exports, or the SLI would count nothing."""

from __future__ import annotations

import re
from pathlib import Path

from observability.generate import PACKAGE_DIR
from orgo.core.metrics import LATENCY_BUCKETS

LE = re.compile(r'orgo_http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"')
READERS = [
    *sorted((PACKAGE_DIR / "prometheus" / "rules").glob("*.yml")),
    *sorted((PACKAGE_DIR / "prometheus" / "tests").glob("*.yml")),
    *sorted((PACKAGE_DIR / "grafana").rglob("*.json")),
]


def read_buckets(path: Path) -> set[float]:
    # Dashboard JSON escapes the quotes inside its PromQL strings.
    text = path.read_text().replace('\\"', '"')
    return {float(le) for le in LE.findall(text)}


def test_the_rules_and_dashboards_read_buckets_the_app_exports() -> None:
    read = {path.name: read_buckets(path) for path in READERS}
    assert any(read.values()), "nothing reads an API latency bucket: READERS is stale"
    exported = set(LATENCY_BUCKETS)
    wrong = {name: sorted(les - exported) for name, les in read.items() if les - exported}
    assert not wrong, f"these read buckets the app does not export {LATENCY_BUCKETS}: {wrong}"
