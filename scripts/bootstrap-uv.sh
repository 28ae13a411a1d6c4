#!/usr/bin/env bash
# Installs the pinned uv into .tools/ (a private venv), so a fresh Debian/Ubuntu machine
# needs nothing but python3 to start. pip checks the wheel against the sha256 hashes that
# app/build-requirements.txt records for uv (scripts/lock-build-requirements.sh writes them).
. "$(dirname "$0")/lib.sh"

version="$(version_of uv)"
if [ -x "$TOOLS_DIR/bin/uv" ] && [ "$("$TOOLS_DIR/bin/uv" --version | cut -d' ' -f2)" = "$version" ]; then
  exit 0
fi
hashes="$REPO_ROOT/app/build-requirements.txt"
# uv's entry: its `uv==` line and the `--hash` continuation lines after it.
requirement="$(awk '/^uv==/ { found = 1 } found { print } found && !/\\$/ { exit }' "$hashes")"
if [ "${requirement%% *}" != "uv==$version" ]; then
  printf '%s pins %s, but versions.yaml has tools.uv %s: run scripts/lock-build-requirements.sh\n' \
    "$hashes" "${requirement%% *}" "$version" >&2
  exit 1
fi
command -v python3 >/dev/null || apt_install python3
python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
log "installing uv $version into $TOOLS_DIR"
python3 -m venv "$TOOLS_DIR"
if ! "$TOOLS_DIR/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps \
  -r /dev/stdin <<<"$requirement"; then
  printf 'uv %s was not installed: its wheel must match a sha256 of %s (pip says which above)\n' \
    "$version" "$hashes" >&2
  exit 1
fi
