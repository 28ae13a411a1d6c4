# Source it: points podman at the project's containers.conf and names the host image.
# shellcheck shell=bash
CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf"
export CONTAINERS_CONF
export ORGO_HOST_IMAGE="${ORGO_HOST_IMAGE:-localhost/orgo-debian-base:bookworm}"
