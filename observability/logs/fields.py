"""Every log field the Elastic side relies on, with its Elasticsearch type.

The app writes these (orgo.core.logging.EcsJsonFormatter plus the app's extra fields); the index
template maps exactly these, and the Kibana objects use only these. The contract test
runs the app and checks each one appears in real log lines with a value of its type.
"""

from __future__ import annotations

FIELDS: dict[str, str] = {
    "@timestamp": "date",
    "log.level": "keyword",
    "log.logger": "keyword",
    "message": "match_only_text",
    "ecs.version": "keyword",
    "service.name": "keyword",
    "event.dataset": "keyword",
    # access lines: one per request
    "http.request.id": "keyword",
    "http.request.method": "keyword",
    "http.response.status_code": "long",
    "url.path": "keyword",
    "event.duration": "long",  # nanoseconds
    "orgo.route": "keyword",
    "client.ip": "ip",
    "user.id": "keyword",
    # worker lines
    "orgo.event_id": "keyword",
    "orgo.event_type": "keyword",
    # errors
    "error.type": "keyword",
    "error.message": "match_only_text",
    "error.stack_trace": "wildcard",
}

ACCESS_DATASET = "orgo.access"
