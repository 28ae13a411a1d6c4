"""The live cluster through the official `kubernetes` client: objects by apiVersion/kind,
Secrets, the API server's service proxy as an Http, and `orgo user create` in an API pod."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

from verify.http import Reply

Obj = Mapping[str, Any]
REACH_TIMEOUT = 5  # seconds for the first request: an unreachable cluster fails at once


class UnreachableError(RuntimeError):
    """No cluster to verify: names the kubeconfig, the context and what went wrong."""


def _where(kubeconfig: str | None, context: str | None) -> str:
    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return f"kubeconfig {path}, context {context or '(current)'}"


def _current_context(kubeconfig: str | None) -> str:
    from kubernetes import config

    _, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    return str(active["name"])


class Cluster:
    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import client, config

        where = _where(kubeconfig, context)
        configuration = client.Configuration()
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
        except Exception as exc:  # FileNotFoundError, ConfigException: no usable config
            raise UnreachableError(f"cannot load the cluster's config ({where}): {exc}") from exc
        configuration.retries = 0
        where = _where(kubeconfig, context or _current_context(kubeconfig))
        self.api = client.ApiClient(configuration)
        try:
            version = client.VersionApi(self.api).get_code(_request_timeout=REACH_TIMEOUT)
        except Exception as exc:  # connection refused, TLS, 401: nothing to verify
            reason = str(exc).splitlines()[0]
            raise UnreachableError(
                f"cannot reach the Kubernetes API at {configuration.host} ({where}): {reason}"
            ) from exc
        self.version = f"{version.major}.{version.minor}"
        self._dynamic: Any = None

    def get(self, obj: Obj) -> dict[str, Any] | None:
        """The live counterpart of a rendered object; None when it does not exist."""
        from kubernetes.dynamic import DynamicClient
        from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api)  # type: ignore[no-untyped-call]
        try:
            resource = self._dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        except ResourceNotFoundError as exc:
            raise LookupError(
                f"the API server does not serve {obj['apiVersion']} {obj['kind']}"
            ) from exc
        metadata = obj["metadata"]
        namespace = metadata.get("namespace") if resource.namespaced else None
        try:
            live = resource.get(name=metadata["name"], namespace=namespace)
        except NotFoundError:
            return None
        return dict(live.to_dict())

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        from kubernetes import client

        data = client.CoreV1Api(self.api).read_namespaced_secret(name, namespace).data or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def exec(self, namespace: str, selector: str, command: list[str], stdin: str) -> str:
        """Runs `command` in the first running pod matching `selector`, feeding `stdin`."""
        from kubernetes import client
        from kubernetes.stream import stream

        core = client.CoreV1Api(self.api)
        pods = core.list_namespaced_pod(
            namespace, label_selector=selector, field_selector="status.phase=Running"
        ).items
        if not pods:
            raise LookupError(f"no running pod in {namespace} matches {selector}")
        name = str(pods[0].metadata.name)  # type: ignore[union-attr]
        session = stream(
            core.connect_get_namespaced_pod_exec,
            name,
            namespace,
            command=command,
            stdin=True,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
        )
        session.write_stdin(stdin)
        session.run_forever(timeout=60)
        output = str(session.read_stdout()) + str(session.read_stderr())
        session.close()
        if session.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {output.strip()}")
        return output


class ServiceProxy:
    """An Http through the API server's proxy to a Service's port (no port-forward)."""

    def __init__(self, cluster: Cluster, namespace: str, service: str, port: int) -> None:
        self._api = cluster.api
        self._base = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"

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
        method, url, header_params, serialized, post_params = self._api.param_serialize(
            method,
            self._base + path,
            query_params=list((params or {}).items()),
            header_params=dict(headers or {}),
            body=body,
            post_params=list((form or {}).items()) or None,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(
            method, url, header_params, serialized, post_params, REACH_TIMEOUT * 2
        )
        return Reply(response.status, bytes(response.read() or b""))  # type: ignore[no-untyped-call]
