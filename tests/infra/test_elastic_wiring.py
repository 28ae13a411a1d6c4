"""Filebeat, the index template and the Kibana data view must name the same indices.

On Kubernetes the ECK Beat writes the app's logs; the setup Job installs the template
(mapping + ILM) and the Kibana objects from the same ConfigMap. If the Beat's index left
the template's pattern, the logs would land unmapped, never roll over, and Kibana would
show nothing. The hosts' Filebeat (observability/elastic/filebeat.yml) must agree too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from typing import Any

import yaml

from infra.observability import OBSERVABILITY

Objects = Callable[[str], list[dict[str, Any]]]


def covered(index: str, patterns: Iterable[str]) -> bool:
    """Does an Elasticsearch index pattern (`*` wildcards, comma lists) match `index`?"""
    return any(fnmatchcase(index, p) for pattern in patterns for p in pattern.split(","))


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
    return found[0]


def _data_views(ndjson: str) -> list[str]:
    objects = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
    return [o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"]


def test_the_beat_writes_where_the_template_and_the_data_view_look(objects: Objects) -> None:
    dev = objects("dev")
    beat = _one(dev, "Beat", "orgo")["spec"]["config"]
    index = beat["output.elasticsearch"]["index"]
    assets = _one(dev, "ConfigMap", "orgo-elastic-setup")["data"]
    template = json.loads(assets["index-template.json"])
    views = _data_views(assets["kibana-objects.ndjson"])
    assert covered(index, template["index_patterns"]), (index, template["index_patterns"])
    assert "data_stream" in template, "the template must make the index a data stream"
    assert views, "no Kibana data view shipped"
    assert all(covered(index, [view]) for view in views), (index, views)


def test_hosts_and_kubernetes_decode_alike_and_write_the_same_stream(objects: Objects) -> None:
    beat = _one(objects("dev"), "Beat", "orgo")["spec"]["config"]
    hosts = yaml.safe_load((OBSERVABILITY / "elastic" / "filebeat.yml").read_text())
    assert beat["output.elasticsearch"]["index"] == hosts["output.elasticsearch"]["index"]
    [k8s_input] = beat["filebeat.inputs"]
    [host_input] = hosts["filebeat.inputs"]
    assert k8s_input["parsers"][0] == {"container": {}}, "pod logs are CRI/JSON-wrapped"
    assert k8s_input["parsers"][-1] == host_input["parsers"][-1]
    assert k8s_input["parsers"][-1]["ndjson"]["expand_keys"] is True


def test_the_check_catches_a_diverging_index() -> None:
    """The index Filebeat used to write on Kubernetes, outside the template."""
    assert not covered("orgo-logs-%{+yyyy.MM.dd}", ["logs-orgo-*"])
    assert covered("logs-orgo-default", ["metrics-*,logs-orgo-*"])
