"""blackbox exporter module for the TLS probes behind TlsEndpointCertificateExpiringSoon.

Scrape it as job `blackbox` with `metrics_path: /probe`, `params: {module: [tls_connect]}`
and the usual relabeling (target address -> `__param_target` and `instance`).
"""

from __future__ import annotations

MODULE = "tls_connect"


def modules() -> dict[str, object]:
    return {
        "modules": {
            MODULE: {
                "prober": "tcp",
                "timeout": "5s",
                # The probe reports expiry; whether clients trust the chain is a separate
                # matter (self-signed and private CAs are common on hosts).
                "tcp": {"tls": True, "tls_config": {"insecure_skip_verify": True}},
            }
        }
    }
