# Source it: points podman at the project's containers.conf and names the host image.
# ORGO_HOST_RELEASE picks the Debian release of the host image, bookworm (Debian 12) or
# trixie (Debian 13); each release is its own image, localhost/orgo-debian-base:RELEASE.
# The roles converge both. The default stays bookworm until uv.lock holds the app's
# dependencies for Python 3.13, trixie's python3 (the app installs from locked wheels only).
# shellcheck shell=bash
CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf"
export CONTAINERS_CONF
export ORGO_HOST_RELEASE="${ORGO_HOST_RELEASE:-bookworm}"
case "$ORGO_HOST_RELEASE" in
  bookworm | trixie) ;;
  *) echo "ORGO_HOST_RELEASE=$ORGO_HOST_RELEASE: allowed values are trixie, bookworm" >&2
     exit 2 ;;
esac
export ORGO_HOST_IMAGE="${ORGO_HOST_IMAGE:-localhost/orgo-debian-base:$ORGO_HOST_RELEASE}"
# How a container host runs (make up and the playbook tests): systemd as PID 1; SYS_ADMIN
# lets it set up the units' sandboxes (ProtectSystem, ReadWritePaths, PrivateTmp), so the
# units run as confined as on a real host; the image's stop signal (SIGRTMIN+3) makes
# systemd stop every service in order, which takes longer than podman's default 10 s.
export ORGO_HOST_RUN_OPTIONS="--systemd=always --cap-add NET_ADMIN --cap-add SYS_ADMIN --stop-timeout 120"
