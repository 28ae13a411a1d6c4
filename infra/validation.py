"""Strict validation of rendered Kubernetes objects.

Built-in kinds: kubernetes-validate in strict mode (unknown fields fail) for a Kubernetes
version. Custom resources: the openAPIV3Schema of their CRD **from the same render** (the
CRDs the pinned charts and manifests install), made strict the way Kubernetes
effectively is: an object schema that lists `properties` without `additionalProperties`
or `x-kubernetes-preserve-unknown-fields` is closed (Kubernetes would silently prune the
unknown field, so a typo would be lost). A custom resource without a CRD is an error.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]

# Go RE2 allows an inline flag group mid-pattern, "(?i)rest"; Python wants "(?i:rest)".
_INLINE_FLAG = re.compile(r"\(\?([a-z]+)\)(.*)$")


def _python_pattern(pattern: str) -> str:
    match = _INLINE_FLAG.search(pattern)
    if match is None or match.start() == 0:
        return pattern
    return f"{pattern[: match.start()]}(?{match.group(1)}:{match.group(2)})"


def _strict(schema: Any) -> Any:
    """The CRD schema with closed objects, nullable admitting null and Python patterns."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if isinstance(out.get("pattern"), str):
        out["pattern"] = _python_pattern(out["pattern"])
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    closed = (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    )
    if closed:
        out["additionalProperties"] = False
    return out


def _with_object_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    """CRD schemas leave apiVersion/kind/metadata to the API server: admit them."""
    properties = dict(schema.get("properties", {}))
    for field in ("apiVersion", "kind"):
        properties.setdefault(field, {"type": "string"})
    properties.setdefault("metadata", {"type": "object"})
    return {**schema, "properties": properties}


@dataclass(frozen=True)
class CrdSchemas:
    """(apiVersion, kind) -> strict validator, for every served version of every CRD."""

    validators: dict[tuple[str, str], jsonschema.Draft7Validator]

    @classmethod
    def from_objects(cls, objects: Iterable[dict[str, Any]]) -> CrdSchemas:
        validators = {}
        for crd in objects:
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if not version.get("served", True) or schema is None:
                    continue
                api_version = f"{spec['group']}/{version['name']}"
                strict = _strict(_with_object_envelope(schema))
                validators[(api_version, spec["names"]["kind"])] = jsonschema.Draft7Validator(
                    strict
                )
        return cls(validators)

    def validator(self, obj: dict[str, Any]) -> jsonschema.Draft7Validator | None:
        return self.validators.get((str(obj["apiVersion"]), str(obj["kind"])))


def is_core_kind(obj: dict[str, Any], crds: CrdSchemas) -> bool:
    """Built into Kubernetes (validated by kubernetes-validate) rather than a CRD's kind."""
    if crds.validator(obj) is not None:
        return False
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def validate(obj: dict[str, Any], kubernetes_version: str, crds: CrdSchemas) -> list[str]:
    """Every problem of one object, as `Kind/name: path: message` lines (empty: valid)."""
    label = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if is_core_kind(obj, crds):
        try:
            kubernetes_validate.validate(copy.deepcopy(obj), kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            return [f"{label}: {where}: {exc.message}"]
        except kubernetes_validate.SchemaNotFoundError:
            return [f"{label}: no CRD in the render and no built-in {obj['apiVersion']} kind"]
        return []
    validator = crds.validator(obj)
    if validator is None:
        return [f"{label}: no CRD in the render for {obj['apiVersion']} {obj['kind']}"]
    return [
        f"{label}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]
