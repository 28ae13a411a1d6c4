"""Kibana saved objects: the Orgo logs data view, a saved search of errors, and a
dashboard of request rates and errors by route. Import with Kibana's saved objects API
(`POST /api/saved_objects/_import`)."""

from __future__ import annotations

import json
import re
from typing import Any

from observability.logs.fields import ACCESS_DATASET

DATA_VIEW = "orgo-logs"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
ERRORS_QUERY = "log.level:(error or critical) or http.response.status_code >= 500"
ERROR_COLUMNS = [
    "service.name",
    "log.level",
    "message",
    "error.type",
    "orgo.route",
    "http.response.status_code",
]


def _search_source(query: str) -> dict[str, str]:
    source = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": INDEX_REF,
    }
    return {"searchSourceJSON": json.dumps(source, sort_keys=True)}


def _data_view_ref() -> list[dict[str, str]]:
    return [{"name": INDEX_REF, "type": "index-pattern", "id": DATA_VIEW}]


def _data_view() -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": DATA_VIEW,
        "attributes": {"title": "logs-orgo-*", "name": "Orgo logs", "timeFieldName": "@timestamp"},
        "references": [],
    }


def _errors_search() -> dict[str, Any]:
    return {
        "type": "search",
        "id": "orgo-errors",
        "attributes": {
            "title": "Orgo errors",
            "description": "Error log lines and 5xx responses of the API and worker.",
            "columns": ERROR_COLUMNS,
            "sort": [["@timestamp", "desc"]],
            "kibanaSavedObjectMeta": _search_source(ERRORS_QUERY),
        },
        "references": _data_view_ref(),
    }


def _stacked_bars() -> dict[str, Any]:
    """Parameters of an aggregation-based stacked bar chart: count over time."""
    return {
        "type": "histogram",
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "scale": {"type": "linear"},
                "labels": {"show": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": "Count"},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": "histogram",
                "mode": "stacked",
                "data": {"id": "1", "label": "Count"},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "showCircles": True,
            }
        ],
    }


def _by_route(obj_id: str, title: str, query: str, split: list[str]) -> dict[str, Any]:
    """A stacked bar chart of access lines over time, split by `split` terms."""
    aggs: list[dict[str, Any]] = [
        {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
        {
            "id": "2",
            "enabled": True,
            "type": "date_histogram",
            "schema": "segment",
            "params": {"field": "@timestamp", "interval": "auto", "min_doc_count": 1},
        },
    ]
    aggs += [
        {
            "id": str(3 + i),
            "enabled": True,
            "type": "terms",
            "schema": "group",
            "params": {"field": field, "size": 10, "order": "desc", "orderBy": "1"},
        }
        for i, field in enumerate(split)
    ]
    vis_state = {"title": title, "type": "histogram", "aggs": aggs, "params": _stacked_bars()}
    return {
        "type": "visualization",
        "id": obj_id,
        "attributes": {
            "title": title,
            "visState": json.dumps(vis_state, sort_keys=True),
            "uiStateJSON": "{}",
            "description": "",
            "kibanaSavedObjectMeta": _search_source(query),
        },
        "references": _data_view_ref(),
    }


def _dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    panels_json = []
    references = []
    for i, obj in enumerate(panels):
        ref = f"panel_{i}"
        panels_json.append(
            {
                "panelIndex": str(i),
                "panelRefName": ref,
                "embeddableConfig": {},
                "gridData": {"i": str(i), "x": 0, "y": 15 * i, "w": 48, "h": 15},
            }
        )
        references.append({"name": ref, "type": obj["type"], "id": obj["id"]})
    return {
        "type": "dashboard",
        "id": "orgo-logs-overview",
        "attributes": {
            "title": "Orgo logs: requests and errors",
            "description": "Request rates and errors by route, and the latest errors.",
            "panelsJSON": json.dumps(panels_json, sort_keys=True),
            "timeRestore": False,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(
                    {"query": {"query": "", "language": "kuery"}, "filter": []}
                )
            },
        },
        "references": references,
    }


def saved_objects() -> list[dict[str, Any]]:
    access = f'event.dataset:"{ACCESS_DATASET}"'
    panels = [
        _by_route("orgo-requests-by-route", "Orgo requests by route", access, ["orgo.route"]),
        _by_route(
            "orgo-errors-by-route",
            "Orgo errors by route",
            f"{access} and http.response.status_code >= 500",
            ["orgo.route", "http.response.status_code"],
        ),
        _errors_search(),
    ]
    return [_data_view(), *panels, _dashboard(panels)]


_KQL_FIELD = re.compile(r"([@\w.]+)\s*(?::|>=|<=|>|<)")


def used_fields(objects: list[dict[str, Any]]) -> set[str]:
    """Every log field the saved objects read: columns, sort keys, aggregation fields and
    the fields named in KQL queries."""
    found: set[str] = set()
    for obj in objects:
        attributes = obj["attributes"]
        found.update(attributes.get("columns", []))
        found.update(field for field, _order in attributes.get("sort", []))
        if "visState" in attributes:
            for agg in json.loads(attributes["visState"])["aggs"]:
                if "field" in agg["params"]:
                    found.add(agg["params"]["field"])
        if "timeFieldName" in attributes:
            found.add(attributes["timeFieldName"])
        source = attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if source:
            found.update(_KQL_FIELD.findall(json.loads(source)["query"]["query"]))
    return found
