#!/usr/bin/env bash
# Installs the pinned Node.js LTS and npm into .tools/node (bin/node, bin/npm, bin/npx), the
# toolchain of web/: Node's binary from the npm package node-linux-<arch> (x64 or arm64) and
# npm from its own package, each tarball checked against the integrity versions.yaml records.
# Any npm can download them (on a fresh Debian 12 or 13, Debian's `npm`); the machine's own
# Node.js is never used to build or test the UI.
. "$(dirname "$0")/lib.sh"

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    printf 'Node.js for %s: only x86_64 and aarch64 have a pinned build (versions.yaml tools.node_*_integrity)\n' \
      "$(uname -m)" >&2
    exit 1
    ;;
esac
node_package="node-linux-$arch@$(version_of node)"
node_key="node_${arch}_integrity"
node_integrity="$(version_of "$node_key")"
npm_package="npm@$(version_of npm)"
npm_integrity="$(version_of npm_integrity)"
prefix="$TOOLS_DIR/node"
wanted="$node_package $node_integrity $npm_package $npm_integrity"
if [ -x "$prefix/bin/node" ] && [ "$(cat "$prefix/.installed-from" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
# Node's own Linux builds link libatomic, which a minimal Debian 13 lacks.
apt_install libatomic1
work="$(mktemp -d)"
trap 'rm -rf "$work" "$prefix.new"' EXIT
log "installing $node_package and $npm_package into ${prefix#"$REPO_ROOT"/}"
node_tarball="$(npm_pack_verified "$node_package" "$node_integrity" "$node_key" "$work")"
npm_tarball="$(npm_pack_verified "$npm_package" "$npm_integrity" npm_integrity "$work")"
rm -rf "$prefix.new"
mkdir -p "$prefix.new/bin" "$prefix.new/lib/node_modules/npm"
tar -xzf "$node_tarball" -C "$prefix.new" --strip-components=1 package/bin/node
tar -xzf "$npm_tarball" -C "$prefix.new/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$prefix.new/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$prefix.new/bin/npx"
found="$("$prefix.new/bin/node" --version)"
if [ "$found" != "v$(version_of node)" ]; then
  printf '%s: its binary says %s, not v%s\n' "$node_package" "$found" "$(version_of node)" >&2
  exit 1
fi
echo "$wanted" >"$prefix.new/.installed-from"
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
