#!/usr/bin/env bash
# The web UI's toolchain and packages: the pinned Node.js and npm (scripts/install-node.sh),
# then `npm ci` in web/ from package-lock.json, again only when the lock file (or Node) has
# changed since the last install.
. "$(dirname "$0")/lib.sh"

"$REPO_ROOT/scripts/install-node.sh"
export PATH="$TOOLS_DIR/node/bin:$PATH"
web="$REPO_ROOT/web"
stamp="$web/node_modules/.installed-from"
wanted="$(node --version) $(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
log "npm ci in web/"
(cd "$web" && npm ci --no-fund --loglevel=error)
echo "$wanted" >"$stamp"
