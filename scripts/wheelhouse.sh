#!/usr/bin/env bash
# Prints the directory of the tests' wheelhouse: the wheels scripts/wheelhouse.txt
# pins, downloaded once from PyPI into a cache outside the checkout named by a
# digest of the recipe (a changed recipe makes a new one, never a stale mix).
# Safe to run concurrently: one download under a lock, published by a rename.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
recipe="$here/wheelhouse.txt"
root="${KILN_FIXTURE_CACHE:-/var/cache/kiln-fixtures}"
python="${KILN_WHEELHOUSE_PYTHON:-python3}"
digest="$( { cat "$recipe"; "$python" -c 'import sys; print(sys.version_info[:2])'; } | sha256sum | cut -c1-16)"
target="$root/wheelhouse-$digest"
if [ ! -f "$target/.complete" ]; then
  mkdir -p "$root"
  exec 9>"$root/.wheelhouse.lock"
  flock 9
  if [ ! -f "$target/.complete" ]; then
    partial="$(mktemp -d "$root/.wheelhouse-$digest.XXXXXX")"
    trap 'rm -rf "$partial"' EXIT
    "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --no-deps \
      -r "$recipe" -d "$partial" >&2 \
      || { echo "wheelhouse: pip download of $recipe failed (PyPI must be reachable once)" >&2; exit 1; }
    touch "$partial/.complete"
    chmod 755 "$partial"
    rm -rf "$target"
    mv "$partial" "$target"
    trap - EXIT
  fi
fi
echo "$target"
