"""Elastic files agree with the log field contract and with each other."""

from __future__ import annotations

import json

import yaml

from observability.config import DEFAULT
from observability.generate import PACKAGE_DIR
from observability.logs.fields import FIELDS
from observability.logs.kibana import used_fields

ELASTIC = PACKAGE_DIR / "elastic"


def _flatten(properties: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for name, spec in properties.items():
        if "properties" in spec:
            flat |= _flatten(spec["properties"], f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = spec["type"]
    return flat


def kibana_objects() -> list[dict]:
    lines = (ELASTIC / "kibana-objects.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_index_template_maps_exactly_the_contract_fields() -> None:
    template = json.loads((ELASTIC / "index-template.json").read_text())
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] is False
    assert _flatten(mappings["properties"]) == FIELDS
    assert template["template"]["settings"]["index.lifecycle.name"] == "orgo-logs"
    assert "data_stream" in template


def test_ilm_policy_rolls_over_and_deletes_after_the_configured_age() -> None:
    phases = json.loads((ELASTIC / "ilm-policy.json").read_text())["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"]["max_age"] == DEFAULT.logs.rollover_age
    assert phases["delete"] == {"min_age": DEFAULT.logs.retention, "actions": {"delete": {}}}


def test_kibana_objects_only_use_mapped_fields_and_resolve_references() -> None:
    objects = kibana_objects()
    assert used_fields(objects) <= set(FIELDS), used_fields(objects) - set(FIELDS)
    ids = {(obj["type"], obj["id"]) for obj in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']} -> missing {ref}"
    assert {obj["type"] for obj in objects} == {
        "index-pattern",
        "search",
        "visualization",
        "dashboard",
    }


def test_filebeat_ships_into_the_templated_data_stream_without_its_own_template() -> None:
    config = yaml.safe_load((ELASTIC / "filebeat.yml").read_text())
    output = config["output.elasticsearch"]
    assert output["index"].startswith("logs-orgo-")
    assert config["setup.template.enabled"] is False
    assert config["setup.ilm.enabled"] is False
    parser = config["filebeat.inputs"][0]["parsers"][0]["ndjson"]
    assert parser["expand_keys"] is True, "ECS dotted keys must become objects"
    assert "${" in output["api_key"], "credentials come from the environment, not git"
