#!/usr/bin/env bash
# The app and web UI images on this machine, offline: the local Debian base (scripts/host-image.sh) and
# a wheelhouse fetched on the host replace the registry and PyPI inside the build.
#
#   scripts/image.sh build [BUILD OPTIONS]     podman (or ENGINE=docker) build of app/Dockerfile
#   scripts/image.sh build-web [BUILD OPTIONS] the web UI image: web/Containerfile over web/dist
#                                              (make web builds it first)
#   scripts/image.sh archive                   the app image as build/image/orgo.tar (docker-archive)
#   scripts/image.sh kind                      load both images into kind (KIND_CLUSTER, default kind)
#   scripts/image.sh k3d                       import both into k3d (K3D_CLUSTER, default k3s-default)
#
# IMAGE / WEB_IMAGE: the names to build (default: the orgo / orgo-web images of versions.yaml,
# which the stacks deploy). WHEELHOUSE: an existing wheelhouse directory to use instead of
# fetching one. IMAGE_ARCHIVE: where `archive` writes (default build/image/orgo.tar).
# With ENGINE=docker the base is BASE_IMAGE (default: app/Dockerfile's, from its registry).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman/env.sh"

ENGINE="${ENGINE:-podman}"
ARCHIVE="${IMAGE_ARCHIVE:-$REPO_ROOT/build/image/orgo.tar}"
UV="$TOOLS_DIR/bin/uv"

# pinned_image NAME: the reference versions.yaml pins for images.NAME.
pinned_image() {
  (cd "$REPO_ROOT" && "$UV" run --frozen --quiet python -c \
    "from infra.versions import versions; print(versions().images['$1'].ref)")
}

require() {
  command -v "$1" >/dev/null || {
    printf '%s not found: %s\n' "$1" "$2" >&2
    exit 1
  }
}

# set_base: BASE_ARGS, the --build-arg BASE_IMAGE=... of this engine (podman: the local
# Debian base, built first if missing; docker: BASE_IMAGE if set, else the file's default).
set_base() {
  case "$ENGINE" in
    podman)
      require podman "make system-deps installs it"
      "$REPO_ROOT/scripts/host-image.sh"
      BASE_ARGS=(--build-arg "BASE_IMAGE=${BASE_IMAGE:-$ORGO_HOST_IMAGE}")
      ;;
    docker)
      require docker "install Docker, or use ENGINE=podman"
      BASE_ARGS=()
      [ -z "${BASE_IMAGE:-}" ] || BASE_ARGS=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
      ;;
    *)
      printf 'ENGINE=%s: allowed values are podman, docker\n' "$ENGINE" >&2
      exit 2
      ;;
  esac
}

build() {
  wheels="${WHEELHOUSE:-}"
  if [ -z "$wheels" ]; then
    wheels="$(mktemp -d)"
    trap 'rm -rf "$wheels"' EXIT
    log "fetching the wheelhouse into $wheels"
    (cd "$REPO_ROOT" && "$UV" run --frozen --quiet python -m tests.harness.wheelhouse "$wheels" >/dev/null)
  fi
  set_base
  log "building $IMAGE with $ENGINE"
  "$ENGINE" build --file "$REPO_ROOT/app/Dockerfile" --build-context "wheelhouse=$wheels" \
    "${BASE_ARGS[@]}" --tag "$IMAGE" "$@" "$REPO_ROOT"
}

# The app image's base pin, app/Dockerfile's `ARG BASE_IMAGE=` (the web image has none of
# its own).
app_base_image() {
  sed -n 's/^ARG BASE_IMAGE=//p' "$REPO_ROOT/app/Dockerfile"
}

build_web() {
  if [ ! -f "$REPO_ROOT/web/dist/index.html" ]; then
    printf 'web/dist holds no built UI: run make web first\n' >&2
    exit 1
  fi
  [ "$ENGINE" != docker ] || BASE_IMAGE="${BASE_IMAGE:-$(app_base_image)}"
  set_base
  log "building $WEB_IMAGE with $ENGINE"
  "$ENGINE" build --file "$REPO_ROOT/web/Containerfile" \
    --build-context "security-headers=$REPO_ROOT/app/orgo/api" \
    "${BASE_ARGS[@]}" --tag "$WEB_IMAGE" "$@" "$REPO_ROOT/web"
}

# archive IMAGE FILE: the image as a docker-archive tarball.
archive() {
  mkdir -p "$(dirname "$2")"
  rm -f "$2"
  if [ "$ENGINE" = podman ]; then
    podman save --format docker-archive --output "$2" "$1"
  else
    docker save --output "$2" "$1"
  fi
  log "$1 saved as ${2#"$REPO_ROOT"/}"
}

main() {
  local command="${1:-}"
  [ $# -eq 0 ] || shift
  IMAGE="${IMAGE:-$(pinned_image orgo)}"
  WEB_IMAGE="${WEB_IMAGE:-$(pinned_image orgo-web)}"
  web_archive="$(dirname "$ARCHIVE")/orgo-web.tar"
  case "$command" in
    build) build "$@" ;;
    build-web) build_web "$@" ;;
    archive) archive "$IMAGE" "$ARCHIVE" ;;
    kind)
      require kind "install kind (kind.sigs.k8s.io), or use k3d"
      archive "$IMAGE" "$ARCHIVE"
      archive "$WEB_IMAGE" "$web_archive"
      kind load image-archive "$ARCHIVE" --name "${KIND_CLUSTER:-kind}"
      kind load image-archive "$web_archive" --name "${KIND_CLUSTER:-kind}"
      ;;
    k3d)
      require k3d "install k3d (k3d.io), or use kind"
      archive "$IMAGE" "$ARCHIVE"
      archive "$WEB_IMAGE" "$web_archive"
      k3d image import "$ARCHIVE" "$web_archive" --cluster "${K3D_CLUSTER:-k3s-default}"
      ;;
    *)
      printf 'usage: %s build [options] | build-web [options] | archive | kind | k3d\n' "$0" >&2
      exit 2
      ;;
  esac
}

main "$@"
