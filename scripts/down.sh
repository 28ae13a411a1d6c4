#!/usr/bin/env bash
# make down: removes the local platform (container orgo-local, its podman volumes and the
# generated secrets of the local deployment). Asks first unless FORCE=1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman/env.sh"

NAME=orgo-local

if [ "${FORCE:-}" != 1 ]; then
  read -r -p "Remove $NAME and all its data (database, queues, metrics, backups)? [y/N] " answer
  case "$answer" in
    y | Y | yes) ;;
    *) echo "kept $NAME" >&2; exit 1 ;;
  esac
fi
podman rm -f -t 20 "$NAME" >/dev/null 2>&1 || true
volumes="$(podman volume ls -q --filter label=orgo.deployment=local)"
[ -z "$volumes" ] || podman volume rm $volumes >/dev/null
rm -rf "$REPO_ROOT/.orgo/secrets/local"
log "removed $NAME, its volumes and its secrets"
