"""Filebeat config that ships the app's ECS JSON lines into the logs-orgo data stream.

The template and ILM policy are installed from observability/elastic/ (not by Filebeat).
Connection settings come from the environment (or Filebeat's keystore), never from git.
"""

from __future__ import annotations

from observability.config import Config


def filebeat(config: Config) -> dict[str, object]:
    return {
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "orgo",
                # The systemd units append the API's and worker's stdout here.
                "paths": ["${ORGO_LOG_PATHS:/var/log/orgo/*.log}"],
                "parsers": [
                    {
                        "ndjson": {
                            "target": "",
                            "overwrite_keys": True,
                            "expand_keys": True,
                            "add_error_key": True,
                            "message_key": "message",
                        }
                    }
                ],
            }
        ],
        "processors": [{"add_host_metadata": None}],
        "setup.template.enabled": False,
        "setup.ilm.enabled": False,
        "output.elasticsearch": {
            "hosts": ["${ELASTICSEARCH_HOSTS}"],
            "api_key": "${ELASTICSEARCH_API_KEY}",
            "index": config.logs.data_stream,
            "ssl.certificate_authorities": ["${ELASTICSEARCH_CA:/etc/filebeat/ca.crt}"],
        },
    }
