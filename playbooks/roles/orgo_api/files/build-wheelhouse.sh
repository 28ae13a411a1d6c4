#!/usr/bin/env bash
# build-wheelhouse.sh OUT PYTHON_VERSION PLATFORMS: run from the repository root on the
# control machine. Writes OUT.tar.gz holding requirements.txt and wheels/ (the app's wheel
# plus every locked runtime dependency for the hosts' platform), so that hosts install
# with `pip --no-index --require-hashes` and never reach PyPI. requirements.txt pins every
# package with the hashes uv.lock records for it, and the app with its wheel's own hash:
# a wheel changed after this script ran is refused by the install.
set -euo pipefail
out="$1" python_version="$2" platforms="$3"
uv="${UV:-.tools/bin/uv}"
pip_version="$(sed -n 's/^[[:space:]]*wheelhouse_pip:[[:space:]]*"\(.*\)"/\1/p' versions.yaml)"
export UV_PYTHON_DOWNLOADS=never

rm -rf "$out" "$out.tar.gz"
mkdir -p "$out/wheels"
# The build backend (hatchling) by the hashes app/build-requirements.txt records, as the
# image build does.
"$uv" build --quiet --wheel --out-dir "$out/wheels" \
  --build-constraints app/build-requirements.txt --require-hashes
"$uv" export --quiet --frozen --no-dev --no-emit-project --format requirements-txt \
  --output-file "$out/requirements.txt"
# pip evaluates python-version markers with the control machine's Python, not the hosts'
# (e.g. `; python_full_version < '3.11.3'`): download those requirements regardless; the
# hosts' pip applies the markers when installing. (The hashes follow on continuation lines.)
sed -E 's/ ; [^\\]*python(_full)?_version[^\\]*/ /' "$out/requirements.txt" >"$out/download.txt"
platform_args=()
IFS=, read -ra platform_list <<<"$platforms"
for platform in "${platform_list[@]}"; do platform_args+=(--platform "$platform"); done
"$uv" tool run --quiet --from "pip==$pip_version" pip download --quiet --disable-pip-version-check \
  --only-binary=:all: --python-version "$python_version" --implementation cp "${platform_args[@]}" \
  --dest "$out/wheels" --requirement "$out/download.txt"
rm "$out/download.txt"
wheel="$(cd "$out/wheels" && ls orgo-*-py3-none-any.whl)"
version="${wheel#orgo-}"
printf 'orgo==%s \\\n    --hash=sha256:%s\n' "${version%%-*}" \
  "$(sha256sum "$out/wheels/$wheel" | cut -d' ' -f1)" >>"$out/requirements.txt"
tar -C "$out" -czf "$out.tar.gz.partial" requirements.txt wheels
mv "$out.tar.gz.partial" "$out.tar.gz"
rm -rf "$out"
