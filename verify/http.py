"""The HTTP layer of the Prometheus, Grafana and API checks: one small interface, served by
the API server's service proxy, by the Gateway's address, or by any base URL (tests point
it at real local processes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self, limit: int = 200) -> str:
        return self.body.decode(errors="replace")[:limit]


class Http(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Reply: ...


class UrlHttp:
    """Requests to `base_url`. `host`: the name to send as Host and TLS SNI when
    `base_url` is an address (a Gateway's load balancer answering several hostnames)."""

    def __init__(
        self, base_url: str, host: str | None = None, verify: bool = True, timeout: float = 10
    ) -> None:
        import httpx

        self._host = host
        headers = {"Host": host} if host else {}
        self._client = httpx.Client(
            base_url=base_url, headers=headers, verify=verify, timeout=timeout
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Reply:
        extensions = {"sni_hostname": self._host} if self._host else None
        response = self._client.request(
            method,
            path,
            params=params,
            headers=headers,
            data=form,
            json=body,
            extensions=extensions,
        )
        return Reply(response.status_code, response.content)
