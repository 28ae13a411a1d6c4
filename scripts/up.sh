#!/usr/bin/env bash
# make up: the whole Orgo platform on this machine, in the systemd container host
# `orgo-local` (data in podman volumes orgo-local-*), converged with inventories/local.
# Running it again changes nothing. HTTPS_PORT, PROMETHEUS_PORT, ALERTMANAGER_PORT move
# the loopback ports it publishes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman/env.sh"

NAME=orgo-local
HTTPS_PORT="${HTTPS_PORT:-8443}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${ALERTMANAGER_PORT:-9093}"
VOLUMES=(postgresql:/var/lib/postgresql rabbitmq:/var/lib/rabbitmq redis:/var/lib/redis
  prometheus:/var/lib/prometheus backups:/var/backups/orgo)
SECRETS="$REPO_ROOT/.orgo/secrets/local"

start_host() {
  if podman container exists "$NAME"; then
    [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || podman start "$NAME" >/dev/null
    return 0
  fi
  if [ -n "$(podman volume ls -q --filter label=orgo.deployment=local)" ]; then
    echo "podman volumes of a previous $NAME exist without its container; remove them with" \
      "'make down' first" >&2
    exit 1
  fi
  local mounts=()
  for volume in "${VOLUMES[@]}"; do
    podman volume create --label orgo.deployment=local "$NAME-${volume%%:*}" >/dev/null
    mounts+=(--volume "$NAME-$volume")
  done
  log "starting $NAME"
  # shellcheck disable=SC2086 # the options are words
  podman run -d --name "$NAME" --hostname "$NAME" $ORGO_HOST_RUN_OPTIONS \
    --label orgo.deployment=local "${mounts[@]}" \
    -p "127.0.0.1:$HTTPS_PORT:443" -p "127.0.0.1:$PROMETHEUS_PORT:9090" \
    -p "127.0.0.1:$ALERTMANAGER_PORT:9093" "$ORGO_HOST_IMAGE" >/dev/null
}

wait_for() { # wait_for SECONDS COMMAND...: retries COMMAND every 2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 2
  done
}

booted() {
  local state
  state="$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)"
  [ "$state" = running ] || [ "$state" = degraded ]
}

main() {
  "$REPO_ROOT/scripts/host-image.sh"
  start_host
  wait_for 120 booted
  log "converging playbooks/site.yml (inventories/local)"
  ANSIBLE_CONFIG="$REPO_ROOT/playbooks/ansible.cfg" "$REPO_ROOT/.venv/bin/ansible-playbook" \
    -i "$REPO_ROOT/playbooks/inventories/local" "$REPO_ROOT/playbooks/site.yml"
  wait_for 180 curl -fsk "https://localhost:$HTTPS_PORT/readyz"
  cat <<MSG

Orgo is up.
  API (through nginx, TLS 1.3): https://localhost:$HTTPS_PORT   (docs: /docs)
  Prometheus:                   http://localhost:$PROMETHEUS_PORT
  Alertmanager:                 http://localhost:$ALERTMANAGER_PORT
  Log in as admin@example.com; the password is in $SECRETS/admin-password (mode 0600).
  The certificate is self-signed: curl -k, or trust it: podman exec $NAME cat /etc/nginx/tls/orgo.crt
  Remove everything: make down
MSG
}

main "$@"
