"""Pulumi mocks that record every resource and render our local chart with real helm.

Used by `infra.render` (manifests / plan) and the tests. Outputs are deterministic so the
rendered files are identical from run to run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from infra.helm import helm_template

SECRET_MASK = "[secret]"  # noqa: S105 (the mask, not a secret)
MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "us-east-1"


@dataclass(frozen=True)
class RegisteredResource:
    """One resource the program declared: type token, logical name and its inputs."""

    urn: str
    parent: str  # URN of the parent resource ("" for the stack)
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # plain values (secrets revealed), for manifests and asserts
    masked_inputs: dict[str, Any]  # secrets replaced by SECRET_MASK, for the plan
    secret_paths: frozenset[str]  # dotted paths of the inputs that are Pulumi secrets
    dependencies: frozenset[str]  # URNs it waits for (depends_on, expanded by the SDK)
    protect: bool  # Pulumi's `protect` option: refuses to delete the resource
    provider: str  # reference (`urn::id`) to its explicit provider, "" for the default


def _unwrap(value: Any, mask: bool, path: str, secrets: set[str]) -> Any:
    """Protobuf-JSON property values to plain Python, secrets revealed or masked."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            secrets.add(path)
            plain = _unwrap(value.get("value"), False, path, set())
            return _mask_leaves(plain) if mask else plain
        return {k: _unwrap(v, mask, f"{path}.{k}".lstrip("."), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, mask, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct carries every number as a double
    return value


def _mask_leaves(value: Any) -> Any:
    """Keeps the shape (a Secret's stringData stays a map) and hides every value."""
    if isinstance(value, dict):
        return {k: _mask_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v) for v in value]
    return SECRET_MASK


class RecordingMonitor(MockMonitor):
    """The mock engine, also keeping what each resource was registered with."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        raw = json_format.MessageToDict(request.object)
        secrets: set[str] = set()
        self.registered.append(
            RegisteredResource(
                urn=response.urn,
                parent=request.parent,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                inputs=_unwrap(raw, False, "", secrets),
                masked_inputs=_unwrap(raw, True, "", set()),
                secret_paths=frozenset(secrets),
                dependencies=frozenset(request.dependencies),
                protect=bool(request.protect),
                provider=request.provider or request.providers.get(request.type.split(":")[0], ""),
            )
        )
        return response


def _mock_password(name: str, length: int) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return (f"mock{digest}" * 4)[:length]


def _aws_outputs(args: MockResourceArgs) -> dict[str, Any]:
    """Plausible computed attributes of any AWS resource, derived from its name."""
    service = args.typ.split(":")[1].split("/")[0]
    host = f"{args.name}.{service}.{MOCK_REGION}.mock.amazonaws.com"
    return {
        "arn": f"arn:aws:{service}:{MOCK_REGION}:{MOCK_ACCOUNT}:{args.name}",
        "name": args.inputs.get("name", args.name),
        "endpoint": host,
        "address": host,
        "dnsName": host,
        "bucket": args.inputs.get("bucket", args.name),
        "region": MOCK_REGION,
        "ownerId": MOCK_ACCOUNT,
    }


class PlatformMocks(Mocks):
    """Deterministic answers for the resources and invokes the platform program uses."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = _mock_password(args.name, int(args.inputs.get("length", 32)))
        elif args.typ.startswith("aws:"):
            # The AWS layer's own computed attributes (cluster CA, endpoints, ...) win.
            from infra.aws.mock_outputs import computed_outputs

            outputs = {**_aws_outputs(args), **outputs}
            outputs.update(computed_outputs(args.typ, args.name, args.inputs))
        elif args.typ.startswith("kubernetes:"):
            metadata = outputs.get("metadata") or {}
            namespace = metadata.get("namespace")
            resource_id = f"{namespace}/{metadata.get('name')}" if namespace else args.name
            return resource_id, outputs
        return args.name, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "kubernetes:helm:template":  # noqa: S105
            opts = json.loads(args.args["jsonOpts"])
            objects = helm_template(
                opts["release_name"],
                Path(opts["path"]),
                opts.get("namespace") or "default",
                opts.get("values") or {},
            )
            return {"result": objects}, []
        if args.token.startswith("aws:"):
            return self._aws_invoke(args), []
        return {}, []

    @staticmethod
    def _aws_invoke(args: MockCallArgs) -> dict[str, Any]:
        zones = [f"{MOCK_REGION}{suffix}" for suffix in "abc"]
        return {
            "accountId": MOCK_ACCOUNT,
            "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/mock",
            "userId": "MOCKUSER",
            "id": MOCK_REGION,
            "name": MOCK_REGION,
            "region": MOCK_REGION,
            "names": zones,
            "zoneIds": [f"use1-az{i}" for i in range(1, 4)],
            "partition": "aws",
            "dnsSuffix": "amazonaws.com",
        }
