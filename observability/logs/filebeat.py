"""Filebeat config that ships the app's ECS JSON lines into the logs-orgo data stream.

One builder, two inputs, the same decoding and the same output index:
- hosts (`elastic/filebeat.yml`): the systemd units `orgo-api` and `orgo-worker` write
  their stdout to the journal (no log files), so Filebeat reads them with a journald
  input on each app host;
- Kubernetes (the ECK `Beat` in infra/components/elastic.py): the kubelet's container
  log files of the orgo namespace, unwrapped by the container parser first.

The template and ILM policy are installed from observability/elastic/ (not by Filebeat).
Connection settings come from the environment (or Filebeat's keystore) on hosts, from
ECK's `elasticsearchRef` on Kubernetes, never from git.
"""

from __future__ import annotations

from collections.abc import Mapping

from observability.config import Config

# The systemd units of playbooks/roles/orgo_api (their journal is where the lines go).
HOST_UNITS = ("orgo-api.service", "orgo-worker.service")
# The kubelet's files of the Orgo pods: <pod>_<namespace>_<container>-<id>.log.
KUBERNETES_PATHS = ("/var/log/containers/*_orgo_*.log",)
# Every line is one ECS JSON object: dotted keys become objects, a broken line keeps
# its text in `message` and gets `error.message`.
NDJSON = {
    "target": "",
    "overwrite_keys": True,
    "expand_keys": True,
    "add_error_key": True,
    "message_key": "message",
}


def filebeat(config: Config) -> dict[str, object]:
    """The hosts' Filebeat: the units' journal, Elasticsearch from the environment."""
    journal = {
        "type": "journald",
        "id": "orgo",
        "include_matches.match": [f"_SYSTEMD_UNIT={unit}" for unit in HOST_UNITS],
    }
    output = {
        "hosts": ["${ELASTICSEARCH_HOSTS}"],
        "api_key": "${ELASTICSEARCH_API_KEY}",
        "ssl.certificate_authorities": ["${ELASTICSEARCH_CA:/etc/filebeat/ca.crt}"],
    }
    return _config(config, journal, (), output, [{"add_host_metadata": None}])


def kubernetes_filebeat(config: Config) -> dict[str, object]:
    """The ECK Beat's config: the Orgo pods' log files; ECK adds hosts and credentials."""
    files = {"type": "filestream", "id": "orgo-containers", "paths": list(KUBERNETES_PATHS)}
    return _config(config, files, ({"container": {}},), {}, [])


def _config(
    config: Config,
    source: Mapping[str, object],
    unwrap: tuple[Mapping[str, object], ...],
    output: Mapping[str, object],
    processors: list[Mapping[str, object]],
) -> dict[str, object]:
    result: dict[str, object] = {
        "filebeat.inputs": [{**source, "parsers": [*unwrap, {"ndjson": dict(NDJSON)}]}]
    }
    if processors:
        result["processors"] = processors
    return result | {
        "setup.template.enabled": False,
        "setup.ilm.enabled": False,
        "output.elasticsearch": {**output, "index": config.logs.data_stream},
    }
