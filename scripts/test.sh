#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: system packages (containerd, runc, criu,
# busybox-static, ...), npm packages, the build, the generated-code drift check, then unit, conformance,
# contract and integration tests (the last against a private containerd the suite starts and stops) on the
# machine's Node, then the smoke set (test/integration/smoke.test.ts) on Node 22 and 24 as well.
# Arguments go to the first vitest run (e.g. a file to run alone); CTR_SMOKE_NODES="" skips the smoke runs.
# Lint first (ESLint and Prettier: eslint.config.mjs, .prettierrc.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules/@oclif/core ] || npm ci --no-audit --no-fund
npm run --silent lint
npm run --silent build
npm run --silent gen:check
npx vitest run "$@"
# The contract tests (the start and exec roll-back and signal paths against the fake daemon) need neither
# root nor containerd: proven by running them again as nobody.
if [ "$(id -u)" = 0 ] && [ $# -eq 0 ]; then CTR_PROJECT=contract bash scripts/unit-as-nobody.sh; fi
for major in ${CTR_SMOKE_NODES-22 24}; do
  node_bin=$(bash scripts/install-node.sh "$major")
  echo "== smoke set on Node $("$node_bin" --version)"
  "$node_bin" node_modules/vitest/vitest.mjs run test/integration/smoke.test.ts
done
