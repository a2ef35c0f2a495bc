#!/usr/bin/env bash
# Regenerate src/gen from proto/ with buf + ts-proto (see buf.gen.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/gen
npx --no-install buf generate
echo "src/gen regenerated: $(find src/gen -name '*.ts' | wc -l) files"
