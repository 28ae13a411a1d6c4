#!/usr/bin/env bash
# `make run`: the API and the worker on the embedded default (SQLite in .orgo/, events
# applied in-process, no cache), in the foreground; Ctrl-C stops both.
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

export ORGO_ENV="${ORGO_ENV:-dev}" ORGO_PORT="${ORGO_PORT:-8000}"
export ORGO_WORKER_METRICS_PORT="${ORGO_WORKER_METRICS_PORT:-9464}"
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
log "API on http://127.0.0.1:$ORGO_PORT (docs: /docs); worker metrics on :$ORGO_WORKER_METRICS_PORT"
log "log in as admin@example.com with the password in .orgo/admin-password"
wait -n $api $worker
