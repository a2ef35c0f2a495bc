#!/usr/bin/env bash
# Fail (and print the diff) if the committed src/gen differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# -o prefixes the template's out dir: output lands in $tmp/src/gen
npx --no-install buf generate -o "$tmp"
if diff -ruN src/gen "$tmp/src/gen"; then
  echo "gen:check OK: src/gen is up to date"
else
  echo "gen:check FAILED: src/gen is stale; run 'npm run gen'" >&2
  exit 1
fi
