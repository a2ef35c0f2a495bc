#!/usr/bin/env bash
# Proves the unit tests (CTR_PROJECT=contract: the contract tests) need neither root nor containerd: runs
# `vitest --project unit` (or $CTR_PROJECT) as `nobody` in a copy
# of the tree (node_modules hard-linked, directories owned by nobody; files stay shared, so nothing is
# chowned in the original), with HOME and TMPDIR of its own and a PATH without /usr/sbin.
#   sudo bash scripts/unit-as-nobody.sh [vitest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "unit-as-nobody: run as root (it switches to nobody with runuser)" >&2; exit 1; }
[ -f dist/cli.js ] || npm run --silent build
copy=$(mktemp -d /tmp/ctr-unit-nobody-XXXXXX)
trap 'rm -rf "$copy"' EXIT
tar --exclude=./node_modules -cf - . | tar -xf - -C "$copy"
cp -al node_modules "$copy/node_modules"
# Directories only under node_modules: its files are hard links to this tree's.
find "$copy" -path "$copy/node_modules" -prune -o -exec chown nobody {} +
find "$copy/node_modules" -type d -exec chown nobody {} +
mkdir "$copy/.home" "$copy/.tmp" && chown nobody "$copy/.home" "$copy/.tmp"
cd "$copy"
runuser -u nobody -- env -i HOME="$copy/.home" TMPDIR="$copy/.tmp" PATH=/usr/local/bin:/usr/bin:/bin npx vitest run --project "${CTR_PROJECT:-unit}" "$@"
