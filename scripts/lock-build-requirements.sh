#!/usr/bin/env bash
# Writes app/build-requirements.txt: the tools the image build installs before uv.lock
# applies (uv at tools.uv of versions.yaml, and the build backend pyproject.toml names,
# with its dependencies), each pinned with the sha256 of every file PyPI has for it. The
# image build and scripts/bootstrap-uv.sh install from it with --require-hashes.
# Run it after changing tools.uv or [build-system] (needs PyPI); commit the result.
. "$(dirname "$0")/lib.sh"

# Any uv compiles the file, also one older than the new pin (bootstrap-uv.sh refuses to
# install a uv whose hashes are not recorded yet).
uv="$TOOLS_DIR/bin/uv"
[ -x "$uv" ] || uv="$(command -v uv)" || {
  echo "no uv to compile with: run scripts/bootstrap-uv.sh before changing tools.uv" >&2
  exit 1
}
backend="$(python3 -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))' \
  "$REPO_ROOT/pyproject.toml")"
printf 'uv==%s\n%s\n' "$(version_of uv)" "$backend" |
  UV_PYTHON_DOWNLOADS=never "$uv" pip compile - --quiet --universal --generate-hashes \
    --python-version "$(cat "$REPO_ROOT/.python-version")" --custom-compile-command scripts/lock-build-requirements.sh \
    --output-file "$REPO_ROOT/app/build-requirements.txt"
log "wrote app/build-requirements.txt"
