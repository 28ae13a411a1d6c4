#!/usr/bin/env bash
# The app image on this machine, offline: the local Debian base (scripts/host-image.sh) and
# a wheelhouse fetched on the host replace the registry and PyPI inside the build.
#
#   scripts/image.sh build [BUILD OPTIONS]   podman (or ENGINE=docker) build of app/Dockerfile
#   scripts/image.sh archive                 the image as build/image/orgo.tar (docker-archive)
#   scripts/image.sh kind                    load that archive into kind (KIND_CLUSTER, default kind)
#   scripts/image.sh k3d                     import it into k3d (K3D_CLUSTER, default k3s-default)
#
# IMAGE: the name to build (default: the orgo image of versions.yaml, which the stacks
# deploy). WHEELHOUSE: an existing wheelhouse directory to use instead of fetching one.
# IMAGE_ARCHIVE: where `archive` writes (default build/image/orgo.tar).
# With ENGINE=docker the base is BASE_IMAGE (default: the Dockerfile's, from its registry).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman/env.sh"

ENGINE="${ENGINE:-podman}"
ARCHIVE="${IMAGE_ARCHIVE:-$REPO_ROOT/build/image/orgo.tar}"
UV="$TOOLS_DIR/bin/uv"

default_image() {
  (cd "$REPO_ROOT" && "$UV" run --frozen --quiet python -c \
    'from infra.versions import versions; print(versions().images["orgo"].ref)')
}

require() {
  command -v "$1" >/dev/null || {
    printf '%s not found: %s\n' "$1" "$2" >&2
    exit 1
  }
}

build() {
  local base=()
  wheels="${WHEELHOUSE:-}"
  if [ -z "$wheels" ]; then
    wheels="$(mktemp -d)"
    trap 'rm -rf "$wheels"' EXIT
    log "fetching the wheelhouse into $wheels"
    (cd "$REPO_ROOT" && "$UV" run --frozen --quiet python -m tests.harness.wheelhouse "$wheels" >/dev/null)
  fi
  case "$ENGINE" in
    podman)
      require podman "make system-deps installs it"
      "$REPO_ROOT/scripts/host-image.sh"
      base=(--build-arg "BASE_IMAGE=${BASE_IMAGE:-$ORGO_HOST_IMAGE}")
      ;;
    docker)
      require docker "install Docker, or use ENGINE=podman"
      [ -z "${BASE_IMAGE:-}" ] || base=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
      ;;
    *)
      printf 'ENGINE=%s: allowed values are podman, docker\n' "$ENGINE" >&2
      exit 2
      ;;
  esac
  log "building $IMAGE with $ENGINE"
  "$ENGINE" build --file "$REPO_ROOT/app/Dockerfile" --build-context "wheelhouse=$wheels" \
    "${base[@]}" --tag "$IMAGE" "$@" "$REPO_ROOT"
}

archive() {
  mkdir -p "$(dirname "$ARCHIVE")"
  rm -f "$ARCHIVE"
  if [ "$ENGINE" = podman ]; then
    podman save --format docker-archive --output "$ARCHIVE" "$IMAGE"
  else
    docker save --output "$ARCHIVE" "$IMAGE"
  fi
  log "$IMAGE saved as ${ARCHIVE#"$REPO_ROOT"/}"
}

main() {
  local command="${1:-}"
  [ $# -eq 0 ] || shift
  IMAGE="${IMAGE:-$(default_image)}"
  case "$command" in
    build) build "$@" ;;
    archive) archive ;;
    kind)
      require kind "install kind (kind.sigs.k8s.io), or use k3d"
      archive
      kind load image-archive "$ARCHIVE" --name "${KIND_CLUSTER:-kind}"
      ;;
    k3d)
      require k3d "install k3d (k3d.io), or use kind"
      archive
      k3d image import "$ARCHIVE" --cluster "${K3D_CLUSTER:-k3s-default}"
      ;;
    *)
      printf 'usage: %s build [options] | archive | kind | k3d\n' "$0" >&2
      exit 2
      ;;
  esac
}

main "$@"
