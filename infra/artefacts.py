"""Every pinned chart and operator manifest of versions.yaml as a checked local file.

With a mirror (`ORGO_CHART_MIRROR`, else `orgo:platform.chartMirror`; laid out like the
offline mirror: `index.json` + the files it names), only the mirror is used: its entry
must carry the pinned name and version, the file its sha256, and the file itself the
pinned version (Chart.yaml, or the operator image tag of a manifest). Without one, each
artefact is downloaded from its upstream source into a cache (`ORGO_ARTEFACT_CACHE`,
default `.cache/artefacts/`) and checked against the pinned version and the digest the
source publishes (a Helm repository's index.yaml, an OCI registry's manifest digest).
A mirror's sha256 and an upstream digest are never interchangeable: mirrors repackage.

Anything missing or mismatched raises ArtefactError naming the artefact, its version and
every place looked, before the program declares a single resource (`prepare`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import yaml

from infra.helm import load_all, run_helm
from infra.versions import REPO_ROOT, ChartPin, ManifestPin, versions

MIRROR_ENV = "ORGO_CHART_MIRROR"
CACHE_ENV = "ORGO_ARTEFACT_CACHE"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "artefacts"
DOWNLOAD_TIMEOUT_SECONDS = 60
Kind = Literal["chart", "manifest"]


class ArtefactError(RuntimeError):
    """A pinned artefact could not be had: which one, and every place that was looked at."""


@dataclass(frozen=True)
class Artefact:
    key: str  # versions.yaml key under charts: / operators:
    kind: Kind
    name: str  # chart name, or the operator's key (the mirror index's `name`)
    version: str
    path: Path  # the checked local file
    source: str  # where it came from: the mirror's index entry or the upstream URL


@dataclass(frozen=True)
class _Wanted:
    key: str
    kind: Kind
    name: str
    version: str

    @property
    def label(self) -> str:
        section = "charts" if self.kind == "chart" else "operators"
        return f"{self.kind} {self.name} {self.version} (versions.yaml {section}.{self.key})"


class _Miss(Exception):
    """One place did not have the artefact; the message says why."""


Lookup = Callable[[_Wanted, ChartPin | ManifestPin], Artefact]


def _pin(key: str) -> ChartPin | ManifestPin:
    pins = versions()
    found = pins.charts.get(key) or pins.operators.get(key)
    if found is None:
        known = sorted([*pins.charts, *pins.operators])
        raise ArtefactError(f"no artefact {key!r} in versions.yaml (known: {', '.join(known)})")
    return found


# The stack's own mirror setting (orgo:platform.chartMirror), registered by prepare().
_stack_mirror: str | None = None


def use_stack_mirror(configured: str | None) -> None:
    """Registers orgo:platform.chartMirror (ORGO_CHART_MIRROR still wins)."""
    global _stack_mirror
    _stack_mirror = configured


def mirror_dir() -> Path | None:
    """The configured mirror folder (relative paths are relative to the project root)."""
    configured = os.environ.get(MIRROR_ENV) or _stack_mirror
    return (REPO_ROOT / configured).resolve() if configured else None


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def artefact(key: str) -> Artefact:
    """The checked local file of one pinned artefact (resolved once per mirror/cache)."""
    return _resolve(key, _pin(key), mirror_dir(), cache_dir())


# Manifests written with changes (derived_manifest), by the file they made.
_derived: dict[Path, Artefact] = {}


def derived_manifest(
    key: str,
    drop_kinds: frozenset[str] = frozenset(),
    annotate: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """The manifest of `key` minus its objects of `drop_kinds` (another resource applies
    those), with `annotate[kind]` added to the annotations of its objects of that kind;
    written under the cache folder, the same input always giving the same file."""
    source = artefact(key)
    annotate = annotate or {}
    documents = []
    for doc in load_all(source.path.read_text(encoding="utf-8")):
        if not isinstance(doc, dict) or doc.get("kind") in drop_kinds:
            continue
        if extra := annotate.get(str(doc.get("kind"))):
            metadata = doc.setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}), **extra}
        documents.append(doc)
    change = json.dumps([sorted(drop_kinds), annotate], sort_keys=True)
    digest = hashlib.sha256(change.encode()).hexdigest()[:12]
    path = cache_dir() / "derived" / f"{source.name}-{source.version}-{digest}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=True), encoding="utf-8")
    _derived[path] = source
    return path


def owning(path: str) -> Artefact:
    """The pinned artefact a resolved (or derived) file path belongs to."""
    derived = _derived.get(Path(path))
    if derived is not None:
        return derived
    pins = versions()
    for key in [*pins.charts, *pins.operators]:
        if str(artefact(key).path) == path:
            return artefact(key)
    raise ArtefactError(f"{path} is not a resolved pinned artefact")


def prepare(stack_mirror: str | None) -> list[Artefact]:
    """Registers the stack's mirror setting and resolves every pinned artefact, so that a
    missing one stops the program before it declares anything. Reports all failures."""
    use_stack_mirror(stack_mirror)
    pins = versions()
    resolved, failures = [], []
    for key in [*pins.charts, *pins.operators]:
        try:
            resolved.append(artefact(key))
        except ArtefactError as exc:
            failures.append(str(exc))
    if failures:
        raise ArtefactError("\n".join(failures))
    return resolved


@functools.cache
def _resolve(key: str, pin: ChartPin | ManifestPin, mirror: Path | None, cache: Path) -> Artefact:
    return resolve(key, pin, mirror, cache)


def resolve(key: str, pin: ChartPin | ManifestPin, mirror: Path | None, cache: Path) -> Artefact:
    """`pin` (versions.yaml's `key`) from `mirror` only, or else from `cache` or upstream."""
    if isinstance(pin, ChartPin):
        wanted = _Wanted(key, "chart", pin.chart, pin.version)
    else:
        wanted = _Wanted(key, "manifest", key, pin.version)
    places: list[str] = []
    lookups = [_from_mirror(mirror)] if mirror else [_from_cache(cache), _from_upstream(cache)]
    for lookup in lookups:
        try:
            return lookup(wanted, pin)
        except _Miss as miss:
            places.append(str(miss))
    looked = "\n  - ".join(places)
    raise ArtefactError(f"{wanted.label} could not be resolved; looked in:\n  - {looked}")


# ---- mirror -----------------------------------------------------------------------------


@functools.cache
def _mirror_index(mirror: Path) -> list[dict[str, Any]]:
    index = mirror / "index.json"
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _Miss(f"mirror {index}: unreadable ({exc})") from None
    if not isinstance(entries, list):
        raise _Miss(f"mirror {index}: not a list of entries")
    return entries


def _from_mirror(mirror: Path) -> Lookup:
    def lookup(wanted: _Wanted, pin: ChartPin | ManifestPin) -> Artefact:
        index = mirror / "index.json"
        entries = [e for e in _mirror_index(mirror) if e.get("name") == wanted.name]
        entry = next((e for e in entries if str(e.get("version")) == wanted.version), None)
        if entry is None:
            others = ", ".join(sorted(str(e.get("version")) for e in entries)) or "none"
            raise _Miss(f"mirror {index}: no {wanted.name} {wanted.version} (versions: {others})")
        if entry.get("kind") != wanted.kind:
            raise _Miss(
                f"mirror {index}: {wanted.name} is a {entry.get('kind')}, not a {wanted.kind}"
            )
        path = mirror / str(entry["file"])
        if not path.is_file():
            raise _Miss(f"mirror {path}: listed in index.json but missing")
        actual = _sha256(path)
        if actual != entry.get("sha256"):
            raise _Miss(f"mirror {path}: sha256 {actual} != index.json's {entry.get('sha256')}")
        _check_content(wanted, path, f"mirror {path}")
        return Artefact(wanted.key, wanted.kind, wanted.name, wanted.version, path, str(index))

    return lookup


# ---- cache and upstream -------------------------------------------------------------------


def _cached_file(cache: Path, wanted: _Wanted) -> Path:
    suffix = ".tgz" if wanted.kind == "chart" else ".yaml"
    return cache / f"{wanted.name}-{wanted.version}{suffix}"


def _from_cache(cache: Path) -> Lookup:
    def lookup(wanted: _Wanted, pin: ChartPin | ManifestPin) -> Artefact:
        path = _cached_file(cache, wanted)
        record = path.with_name(path.name + ".json")
        if not (path.is_file() and record.is_file()):
            raise _Miss(f"cache {path}: not cached")
        recorded = json.loads(record.read_text(encoding="utf-8"))
        if _sha256(path) != recorded.get("sha256"):
            raise _Miss(f"cache {path}: sha256 differs from the one recorded at download")
        _check_content(wanted, path, f"cache {path}")
        return Artefact(
            wanted.key, wanted.kind, wanted.name, wanted.version, path, recorded["source"]
        )

    return lookup


def _from_upstream(cache: Path) -> Lookup:
    def lookup(wanted: _Wanted, pin: ChartPin | ManifestPin) -> Artefact:
        if isinstance(pin, ManifestPin):
            url, digest, data = pin.download_url, None, _get(pin.download_url)
        elif pin.repo.startswith("oci://"):
            url, digest, data = _pull_oci(pin)
        else:
            url, digest, data = _download_chart(pin)
        path = _cached_file(cache, wanted)
        with tempfile.TemporaryDirectory() as scratch:
            staged = Path(scratch) / path.name
            staged.write_bytes(data)
            _check_content(wanted, staged, f"upstream {url}")
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged, path)
        record = {"sha256": _sha256(path), "source": url, "published_digest": digest}
        path.with_name(path.name + ".json").write_text(json.dumps(record, indent=2) + "\n")
        return Artefact(wanted.key, wanted.kind, wanted.name, wanted.version, path, url)

    return lookup


def _get(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise _Miss(f"upstream {url}: not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) checked above)
            return bytes(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise _Miss(f"upstream {url}: unreachable ({exc})") from None


def _download_chart(pin: ChartPin) -> tuple[str, str | None, bytes]:
    """A chart from a Helm HTTP repository: its index.yaml names the URL and the digest."""
    index_url = pin.repo.rstrip("/") + "/index.yaml"
    index = (load_all(_get(index_url)) or [{}])[0] or {}
    entries = (index.get("entries") or {}).get(pin.chart) or []
    entry = next((e for e in entries if str(e.get("version")) == pin.version), None)
    if entry is None or not entry.get("urls"):
        recent = ", ".join(str(e.get("version")) for e in entries[:5]) or "none"
        raise _Miss(f"upstream {index_url}: no {pin.chart} {pin.version} (newest: {recent})")
    url = urljoin(index_url, str(entry["urls"][0]))
    data = _get(url)
    digest = entry.get("digest")
    actual = hashlib.sha256(data).hexdigest()
    if digest and digest != actual:
        raise _Miss(f"upstream {url}: sha256 {actual} != {index_url}'s digest {digest}")
    return url, digest, data


def _pull_oci(pin: ChartPin) -> tuple[str, str | None, bytes]:
    """A chart from an OCI registry with `helm pull`, which checks the content against the
    registry's manifest digest; that digest is recorded."""
    ref = f"{pin.repo.rstrip('/')}/{pin.chart}"
    with tempfile.TemporaryDirectory() as scratch:
        pulled = run_helm("pull", ref, "--version", pin.version, "--destination", scratch)
        if pulled.returncode != 0:
            raise _Miss(f"upstream {ref}:{pin.version}: {pulled.stderr.strip()}")
        files = list(Path(scratch).glob("*.tgz"))
        if len(files) != 1:
            raise _Miss(f"upstream {ref}:{pin.version}: helm pull wrote {len(files)} charts")
        digest = re.search(r"Digest:\s*(sha256:[0-9a-f]{64})", pulled.stdout + pulled.stderr)
        return f"{ref}:{pin.version}", digest.group(1) if digest else None, files[0].read_bytes()


# ---- content checks -----------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_content(wanted: _Wanted, path: Path, where: str) -> None:
    found = _chart_version(path, wanted.name) if wanted.kind == "chart" else None
    if wanted.kind == "chart" and found != wanted.version:
        raise _Miss(f"{where}: Chart.yaml of {wanted.name} says version {found}")
    if wanted.kind == "manifest":
        tags = _operator_image_tags(path)
        if wanted.version not in tags:
            raise _Miss(f"{where}: operator image tags {sorted(tags)} are not {wanted.version}")


def _chart_version(path: Path, chart: str) -> str | None:
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.extractfile(f"{chart}/Chart.yaml")
            meta = yaml.safe_load(io.TextIOWrapper(member, "utf-8")) if member else None
    except (tarfile.TarError, KeyError, OSError):
        return None
    return str(meta.get("version")) if isinstance(meta, dict) else None


def _operator_image_tags(path: Path) -> set[str]:
    """The tags of the images the manifest's Deployments run."""
    text = path.read_text(encoding="utf-8")
    tags: set[str] = set()
    for doc in load_all(text):
        if isinstance(doc, dict) and doc.get("kind") == "Deployment":
            for container in _containers(doc):
                tags.add(str(container.get("image", "")).rpartition(":")[2])
    return tags


def _containers(workload: dict[str, Any]) -> Iterable[dict[str, Any]]:
    pod = workload.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]
