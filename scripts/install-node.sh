#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (22, 24, ...), installing npm's `node`
# package for it into .cache/node-MAJOR first if needed (the binary comes in the package; nothing is
# downloaded at install time). For the test command's smoke runs on the Node versions users run.
#
#   "$(bash scripts/install-node.sh 22)" --version
set -euo pipefail
major=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.cache/node-$major
bin=$dir/node_modules/.bin/node
if [ ! -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$major" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$major" >&2
fi
echo "$bin"
