#!/usr/bin/env bash
# Installs the pinned uv into .tools/ (a private venv), so a fresh Debian/Ubuntu machine
# needs nothing but python3 to start.
. "$(dirname "$0")/lib.sh"

version="$(version_of uv)"
if [ -x "$TOOLS_DIR/bin/uv" ] && [ "$("$TOOLS_DIR/bin/uv" --version | cut -d' ' -f2)" = "$version" ]; then
  exit 0
fi
command -v python3 >/dev/null || apt_install python3
python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
log "installing uv $version into $TOOLS_DIR"
python3 -m venv "$TOOLS_DIR"
"$TOOLS_DIR/bin/pip" install -q --disable-pip-version-check "uv==$version"
