#!/usr/bin/env bash
# Builds (or reuses) the systemd host image the playbooks are converged into:
# localhost/orgo-debian-base:RELEASE, one image per Debian release. The app's Dockerfile
# test uses the bookworm one as a base too, so keep its name and python3-venv.
#
#   scripts/host-image.sh            reuse the image if present, else debootstrap it
#   scripts/host-image.sh --rebuild  build it again
#   ORGO_HOST_RELEASE=bookworm       the Debian 12 image (default trixie, Debian 13)
#   ORGO_HOST_IMAGE_SOURCE=registry  build FROM debian:RELEASE instead of debootstrap
#                                    (where a container registry is reachable)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman/env.sh"

PACKAGES="systemd systemd-sysv dbus python3 python3-apt python3-venv python3-requests \
iproute2 procps sudo ca-certificates"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SOURCE="${ORGO_HOST_IMAGE_SOURCE:-debootstrap}"
RELEASE="$ORGO_HOST_RELEASE"

build_from_registry() {
  podman build --build-arg "PACKAGES=$PACKAGES" --build-arg "RELEASE=$RELEASE" \
    -t "$ORGO_HOST_IMAGE" -f "$REPO_ROOT/scripts/podman/Containerfile" "$REPO_ROOT/scripts/podman"
}

build_by_debootstrap() {
  root="$(mktemp -d /var/tmp/orgo-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  log "debootstrap $RELEASE into $root"
  debootstrap --variant=minbase "$RELEASE" "$root" "$MIRROR" >/dev/null
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR $RELEASE main
deb $MIRROR $RELEASE-updates main
deb ${MIRROR%/debian}/debian-security $RELEASE-security main
SOURCES
  chroot "$root" apt-get update -qq 2>/dev/null
  DEBIAN_FRONTEND=noninteractive chroot "$root" \
    apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null 2>&1
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/*
  # An old mtime makes apt's cache_valid_time in the playbooks refresh the emptied lists.
  touch -d @0 "$root/var/lib/apt/lists"
  # A container has no consoles or hardware to wait for.
  chroot "$root" systemctl mask getty.target systemd-udevd.service >/dev/null 2>&1 || true
  log "importing $ORGO_HOST_IMAGE"
  tar -C "$root" -c . | podman import \
    --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$ORGO_HOST_IMAGE" >/dev/null
}

main() {
  if [ "${1:-}" != "--rebuild" ] && podman image exists "$ORGO_HOST_IMAGE"; then
    log "reusing $ORGO_HOST_IMAGE"
    return 0
  fi
  case "$SOURCE" in
    debootstrap) build_by_debootstrap ;;
    registry) build_from_registry ;;
    *) echo "ORGO_HOST_IMAGE_SOURCE=$SOURCE: allowed values are debootstrap, registry" >&2
       exit 2 ;;
  esac
}

main "$@"
