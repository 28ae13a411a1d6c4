"""Tags that go on every taggable AWS resource (project, environment, owner, cost centre)."""

from __future__ import annotations

from infra.aws.config import Tags


def resource_tags(tags: Tags, name: str) -> dict[str, str]:
    """The stack's tags plus `Name`, which the AWS console shows as the resource's name."""
    return {
        "Name": name,
        "Project": tags.project,
        "Environment": tags.environment,
        "Owner": tags.owner,
        "CostCentre": tags.cost_centre,
    }
