"""Strict validation of rendered Kubernetes objects.

Core kinds: kubernetes-validate in strict mode (unknown fields fail) for the stack's
Kubernetes version. Custom resources: the CRD's JSON schema from a schema directory
(layout `<group>/<kind>_<version>.json`), made strict the way Kubernetes effectively is:
an object schema that lists `properties` without `additionalProperties` or
`x-kubernetes-preserve-unknown-fields` is closed (Kubernetes would silently prune the
unknown field, so a typo would be lost). A custom resource without a schema is an error.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]

# Go RE2 allows an inline flag group mid-pattern, "(?i)rest"; Python wants "(?i:rest)".
_INLINE_FLAG = re.compile(r"\(\?([a-z]+)\)(.*)$")


class SchemaMissingError(LookupError):
    pass


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


@functools.cache
def _crd_validator(path: Path) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_strict(json.loads(path.read_text(encoding="utf-8"))))


def crd_schema_path(obj: dict[str, Any], schema_dirs: Iterable[Path]) -> Path:
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    name = f"{str(obj['kind']).lower()}_{version}.json"
    for folder in schema_dirs:
        candidate = folder / group / name
        if candidate.exists():
            return candidate
    raise SchemaMissingError(
        f"no JSON schema for {obj['apiVersion']} {obj['kind']} ({group}/{name})"
    )


# API groups under k8s.io that are installed as CRDs, not built into Kubernetes.
CRD_GROUPS_UNDER_K8S_IO = {"gateway.networking.k8s.io"}


def is_core_kind(obj: dict[str, Any]) -> bool:
    """Built into Kubernetes (validated by kubernetes-validate) rather than a CRD's kind."""
    group = obj["apiVersion"].rpartition("/")[0]
    if group in CRD_GROUPS_UNDER_K8S_IO:
        return False
    return "." not in group or group.endswith(".k8s.io")


def validate(
    obj: dict[str, Any], kubernetes_version: str, schema_dirs: Iterable[Path]
) -> list[str]:
    """Every problem of one object, as `Kind/name: path: message` lines (empty: valid)."""
    label = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if is_core_kind(obj):
        try:
            kubernetes_validate.validate(copy.deepcopy(obj), kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            return [f"{label}: {where}: {exc.message}"]
        return []
    try:
        validator = _crd_validator(crd_schema_path(obj, schema_dirs))
    except SchemaMissingError as exc:
        return [f"{label}: {exc}"]
    return [
        f"{label}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]
