"""Rule building blocks: what a recording rule, an alert and a rule group are, and how
each becomes the dict that Prometheus reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from observability.config import Config

# Who the rule set runs against; a query for one target only is not checked on the other.
ALL_TARGETS = ("hosts", "kubernetes")


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    # True when a healthy system legitimately has no series for this expression.
    may_be_empty: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str  # "critical" pages someone, "warning" opens a ticket
    summary: str
    description: str
    targets: tuple[str, ...] = ALL_TARGETS

    def runbook_slug(self) -> str:
        """OrgoWorkerDown -> orgo-worker-down (docs/runbooks/orgo-worker-down.md)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "-", self.name).lower()

    def to_dict(self, config: Config) -> dict[str, object]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{config.runbook_base_url}/{self.runbook_slug()}.md",
            },
        }


@dataclass(frozen=True)
class Group:
    """One rule group; `file` is the rules file it is written to (without .yml)."""

    file: str
    name: str
    rules: tuple[Recording | Alert, ...]

    def alerts(self) -> list[Alert]:
        return [rule for rule in self.rules if isinstance(rule, Alert)]

    def to_dict(self, config: Config) -> dict[str, object]:
        return {
            "name": self.name,
            "interval": config.timing.evaluation_interval,
            "rules": [
                rule.to_dict(config) if isinstance(rule, Alert) else rule.to_dict()
                for rule in self.rules
            ],
        }
