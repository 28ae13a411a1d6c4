#!/usr/bin/env bash
# `make run`: the API and the worker on the embedded default (SQLite in .orgo/, events
# applied in-process, no cache), and the web UI at / (web/dist, built first when missing),
# in the foreground; Ctrl-C stops both.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

export ORGO_ENV="${ORGO_ENV:-dev}" ORGO_PORT="${ORGO_PORT:-8000}"
export ORGO_WORKER_METRICS_PORT="${ORGO_WORKER_METRICS_PORT:-9464}"
export ORGO_WEB_DIR="${ORGO_WEB_DIR:-$REPO_ROOT/web/dist}"
if [ "$ORGO_WEB_DIR" = "$REPO_ROOT/web/dist" ] && [ ! -f web/dist/index.html ]; then
  log "building the web UI into web/dist (once; make web rebuilds it)"
  scripts/web-deps.sh
  (cd web && PATH="$TOOLS_DIR/node/bin:$PATH" npm run --silent build >/dev/null)
fi
orgo=".venv/bin/orgo"
umask 077  # the database and the admin password are for this user only

"$orgo" migrate
if [ ! -s .orgo/admin-password ]; then
  python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >.orgo/admin-password
  "$orgo" user create --email admin@example.com --admin --password-file .orgo/admin-password
fi

"$orgo" worker &
worker=$!
"$orgo" api &
api=$!
trap 'kill $api $worker 2>/dev/null; wait' INT TERM EXIT
log "web UI on http://127.0.0.1:$ORGO_PORT/, API under /api (docs: /docs); worker metrics on :$ORGO_WORKER_METRICS_PORT"
log "log in as admin@example.com with the password in .orgo/admin-password"
wait -n $api $worker
