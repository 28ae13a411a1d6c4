#!/usr/bin/env bash
# Records image digests where a registry is reachable (this build machine has none).
#
#   scripts/pin-image-digests.sh           resolve the tag of app/Dockerfile's BASE_IMAGE
#                                          default and write it as TAG@sha256:DIGEST
#   scripts/pin-image-digests.sh --check   fail unless the recorded digest is still what the
#                                          tag points at (none recorded fails too)
#   scripts/pin-image-digests.sh REF...    print REF@sha256:DIGEST for each image reference
#
# The digest is that of the manifest the tag names: for a multi-arch image, its index, so
# the pin holds for amd64 and arm64 alike. Registries are read with skopeo (its usual
# containers-registries.conf settings apply).
. "$(dirname "$0")/lib.sh"

DOCKERFILE="$REPO_ROOT/app/Dockerfile"
ARG_LINE='^ARG BASE_IMAGE='

# digest_of REF: the sha256 of the manifest REF's tag points at now.
digest_of() {
  local raw
  raw="$(mktemp)"
  # Debian 12's skopeo (1.9) ignores CONTAINERS_REGISTRIES_CONF unless given as the flag.
  local conf=()
  [ -z "${CONTAINERS_REGISTRIES_CONF:-}" ] || conf=(--registries-conf "$CONTAINERS_REGISTRIES_CONF")
  # The raw bytes, as a file: a shell variable would lose the manifest's trailing newline.
  if ! skopeo "${conf[@]}" inspect --raw --retry-times 2 "docker://$1" >"$raw"; then
    rm -f "$raw"
    printf 'cannot read the manifest of %s from its registry\n' "$1" >&2
    return 1
  fi
  printf 'sha256:%s\n' "$(sha256sum "$raw" | cut -d' ' -f1)"
  rm -f "$raw"
}

# The default of `ARG BASE_IMAGE=` in app/Dockerfile, split into tag and recorded digest.
recorded_base() {
  local line
  line="$(grep -m1 "$ARG_LINE" "$DOCKERFILE")" || {
    printf '%s has no "ARG BASE_IMAGE=<image>:<tag>" line\n' "$DOCKERFILE" >&2
    return 1
  }
  line="${line#ARG BASE_IMAGE=}"
  base_ref="${line%@*}"
  base_digest=""
  [ "$base_ref" = "$line" ] || base_digest="${line#*@}"
}

main() {
  command -v skopeo >/dev/null || apt_install skopeo
  case "${1:-}" in
    "")
      recorded_base
      digest="$(digest_of "$base_ref")"
      sed -i "s|$ARG_LINE.*|ARG BASE_IMAGE=$base_ref@$digest|" "$DOCKERFILE"
      log "app/Dockerfile: BASE_IMAGE=$base_ref@$digest"
      ;;
    --check)
      recorded_base
      if [ -z "$base_digest" ]; then
        printf 'app/Dockerfile: BASE_IMAGE %s has no digest recorded: run %s\n' "$base_ref" "$0" >&2
        return 1
      fi
      digest="$(digest_of "$base_ref")"
      if [ "$digest" != "$base_digest" ]; then
        printf 'app/Dockerfile: %s now points at %s, not the recorded %s\n' \
          "$base_ref" "$digest" "$base_digest" >&2
        return 1
      fi
      log "app/Dockerfile: BASE_IMAGE $base_ref is still $base_digest"
      ;;
    -*)
      printf 'unknown option %s: allowed are --check or image references\n' "$1" >&2
      return 2
      ;;
    *)
      for ref in "$@"; do
        digest="$(digest_of "${ref%@*}")"
        printf '%s@%s\n' "${ref%@*}" "$digest"
      done
      ;;
  esac
}

main "$@"
