"""Orgo: the API and worker that Orgo Platform deploys."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("orgo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
