"""The artefact resolver: the offline mirror (checksum and version checked), the upstream
path through a real Helm repository on loopback (digest checked, cached), and the errors
that stop the render and the Pulumi program before anything is declared."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import artefacts
from infra.artefacts import MIRROR_ENV, ArtefactError, resolve
from infra.helm import run_helm
from infra.render import run
from infra.versions import ChartPin, ManifestPin, MinorRange, versions
from tests.infra import k8s_support as ks

MIRROR = ks.HELM_MIRROR
pytestmark = pytest.mark.skipif(
    not (MIRROR / "index.json").is_file(),
    reason=f"these tests build their mirrors and repositories from {MIRROR}, which is absent",
)
ANY = MinorRange(oldest="1.20")


def copy_mirror(target: Path) -> Path:
    shutil.copytree(MIRROR, target)
    return target


def edit_index(mirror: Path, name: str, **changes: object) -> None:
    index = mirror / "index.json"
    entries = json.loads(index.read_text())
    for entry in entries:
        if entry["name"] == name:
            entry.update(changes)
    index.write_text(json.dumps(entries))


def test_every_pin_resolves_from_the_mirror(tmp_path: Path) -> None:
    pins = versions()
    for key in [*pins.charts, *pins.operators]:
        found = resolve(key, pins.charts.get(key) or pins.operators[key], MIRROR, tmp_path)
        assert found.path.parent.parent == MIRROR, key
        assert found.source == str(MIRROR / "index.json")
    assert not any(tmp_path.iterdir()), "the mirror path must not touch the cache"


def test_a_mirror_file_with_another_checksum_is_refused(tmp_path: Path) -> None:
    mirror = copy_mirror(tmp_path / "mirror")
    edit_index(mirror, "cert-manager", sha256="0" * 64)
    pin = versions().charts["cert-manager"]
    with pytest.raises(ArtefactError) as error:
        resolve("cert-manager", pin, mirror, tmp_path / "cache")
    message = str(error.value)
    assert message.startswith("chart cert-manager v1.21.1 (versions.yaml charts.cert-manager)")
    assert f"mirror {mirror}/charts/cert-manager-v1.21.1.tgz: sha256 " in message
    assert f"!= index.json's {'0' * 64}" in message


def test_a_version_the_mirror_lacks_is_refused_with_what_it_has(tmp_path: Path) -> None:
    pin = ChartPin(
        repo="https://charts.jetstack.io", chart="cert-manager", version="v1.22.0", kubernetes=ANY
    )
    with pytest.raises(ArtefactError) as error:
        resolve("cert-manager", pin, MIRROR, tmp_path)
    assert f"mirror {MIRROR}/index.json: no cert-manager v1.22.0 (versions: v1.21.1)" in str(
        error.value
    )
    assert "upstream" not in str(error.value), "a configured mirror is the only place"


def fake_chart(path: Path, name: str, version: str) -> None:
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(chart)
        archive.addfile(info, io.BytesIO(chart))


def test_a_mirror_file_of_another_version_is_refused(tmp_path: Path) -> None:
    """The index says 3.13.1 and the checksum matches, but the package is another release."""
    mirror = copy_mirror(tmp_path / "mirror")
    package = mirror / "charts" / "metrics-server-3.13.1.tgz"
    fake_chart(package, "metrics-server", "3.12.0")
    edit_index(mirror, "metrics-server", sha256=hashlib.sha256(package.read_bytes()).hexdigest())
    with pytest.raises(ArtefactError) as error:
        resolve("metrics-server", versions().charts["metrics-server"], mirror, tmp_path / "c")
    assert f"mirror {package}: Chart.yaml of metrics-server says version 3.12.0" in str(error.value)


def test_a_manifest_of_another_operator_version_is_refused(tmp_path: Path) -> None:
    pin = ManifestPin(version="2.21.0", url="https://example.invalid/v{version}/x.yml")
    mirror = copy_mirror(tmp_path / "mirror")
    edit_index(mirror, "rabbitmq-cluster-operator", version="2.21.0")
    with pytest.raises(ArtefactError) as error:
        resolve("rabbitmq-cluster-operator", pin, mirror, tmp_path / "cache")
    assert "operator image tags ['2.22.3'] are not 2.21.0" in str(error.value)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def helm_repository(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real Helm repository on loopback: the mirror's metrics-server package and the
    index.yaml `helm repo index` writes for it (with the package's digest)."""
    served = tmp_path / "repo"
    served.mkdir()
    shutil.copy(MIRROR / "charts" / "metrics-server-3.13.1.tgz", served)
    shutil.copy(MIRROR / "manifests" / "cluster-operator-2.22.3.yml", served)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    indexed = run_helm("repo", "index", str(served), "--url", url)
    assert indexed.returncode == 0, indexed.stderr
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, served
    server.shutdown()
    server.server_close()


def metrics_server_pin(repo: str) -> ChartPin:
    return ChartPin(repo=repo, chart="metrics-server", version="3.13.1", kubernetes=ANY)


def test_upstream_chart_is_checked_against_the_repository_digest_and_cached(
    helm_repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = helm_repository
    cache = tmp_path / "cache"
    found = resolve("metrics-server", metrics_server_pin(url), None, cache)
    assert found.path == cache / "metrics-server-3.13.1.tgz"
    assert found.source == f"{url}/metrics-server-3.13.1.tgz"
    record = json.loads((cache / "metrics-server-3.13.1.tgz.json").read_text())
    assert record["published_digest"] == record["sha256"]
    shutil.rmtree(served)  # the repository is gone: the cache answers
    again = resolve("metrics-server", metrics_server_pin(url), None, cache)
    assert again.path == found.path and again.source == found.source


def test_upstream_chart_whose_digest_differs_is_refused(
    helm_repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = helm_repository
    index = served / "index.yaml"
    text = index.read_text()
    digest = hashlib.sha256((served / "metrics-server-3.13.1.tgz").read_bytes()).hexdigest()
    index.write_text(text.replace(digest, "f" * 64))
    with pytest.raises(ArtefactError) as error:
        resolve("metrics-server", metrics_server_pin(url), None, tmp_path)
    message = str(error.value)
    assert f"cache {tmp_path}/metrics-server-3.13.1.tgz: not cached" in message
    assert f"upstream {url}/metrics-server-3.13.1.tgz: sha256 {digest} != " in message
    assert not (tmp_path / "metrics-server-3.13.1.tgz").exists()


def test_upstream_manifest_is_checked_against_its_version(
    helm_repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = helm_repository
    pin = ManifestPin(version="2.22.3", url=f"{url}/cluster-operator.yml")
    (Path(helm_repository[1]) / "cluster-operator.yml").write_bytes(
        (MIRROR / "manifests" / "cluster-operator-2.22.3.yml").read_bytes()
    )
    found = resolve("rabbitmq-cluster-operator", pin, None, tmp_path)
    assert (
        found.path.read_bytes() == (MIRROR / "manifests/cluster-operator-2.22.3.yml").read_bytes()
    )
    wrong = ManifestPin(version="2.23.0", url=f"{url}/cluster-operator.yml")
    with pytest.raises(ArtefactError, match=r"operator image tags \['2.22.3'\] are not 2.23.0"):
        resolve("rabbitmq-cluster-operator", wrong, None, tmp_path / "other")


def test_unreachable_upstream_names_every_place(tmp_path: Path) -> None:
    pin = metrics_server_pin("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ArtefactError) as error:
        resolve("metrics-server", pin, None, tmp_path)
    lines = str(error.value).splitlines()
    assert lines[0] == (
        "chart metrics-server 3.13.1 (versions.yaml charts.metrics-server) could not be"
        " resolved; looked in:"
    )
    assert lines[1] == f"  - cache {tmp_path}/metrics-server-3.13.1.tgz: not cached"
    assert lines[2].startswith("  - upstream http://127.0.0.1:9/index.yaml: unreachable (")


def test_a_broken_mirror_stops_the_program_before_any_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = copy_mirror(tmp_path / "mirror")
    (mirror / "manifests" / "cluster-operator-2.22.3.yml").unlink()
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    declared: list[str] = []
    with pytest.raises(ArtefactError) as error:
        run("dev", program=lambda cfg: declared.append("deploy"))
    assert declared == [], "the program ran despite a missing artefact"
    assert "manifest rabbitmq-cluster-operator 2.22.3" in str(error.value)
    assert "listed in index.json but missing" in str(error.value)


def test_make_manifests_stops_with_the_message(tmp_path: Path) -> None:
    mirror = copy_mirror(tmp_path / "mirror")
    edit_index(mirror, "eck-operator", version="3.4.0")
    result = subprocess.run(
        [sys.executable, "-m", "infra.render", "manifests", "--stack", "dev"],
        cwd=ks.REPO_ROOT,
        env={**os.environ, MIRROR_ENV: str(mirror)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "error: chart eck-operator 3.5.0 (versions.yaml charts.eck-operator)" in result.stderr
    assert f"mirror {mirror}/index.json: no eck-operator 3.5.0 (versions: 3.4.0)" in result.stderr


def test_the_stack_key_names_the_mirror_when_the_environment_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MIRROR_ENV)
    artefacts.use_stack_mirror(os.path.relpath(MIRROR, ks.REPO_ROOT))
    try:
        assert artefacts.mirror_dir() == MIRROR.resolve()
        assert artefacts.artefact("cert-manager").path.is_relative_to(MIRROR.resolve())
    finally:
        artefacts.use_stack_mirror(None)
    assert artefacts.mirror_dir() is None
