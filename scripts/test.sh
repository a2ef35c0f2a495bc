#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: system packages (containerd, runc, criu,
# busybox-static), npm packages, the build, the generated-code drift check, then unit, conformance,
# contract and integration tests (the last against a private containerd the suite starts and stops), after
# lint (ESLint and Prettier, eslint.config.mjs and .prettierrc.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules/@oclif/core ] || npm ci --no-audit --no-fund
npm run --silent lint
npm run --silent build
npm run --silent gen:check
npx vitest run "$@"
