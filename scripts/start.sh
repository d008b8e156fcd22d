#!/usr/bin/env bash
# Starts Tailor on embedded defaults (PGlite + local storage under TAILOR_DATA_DIR, default .tailor/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
bash scripts/build-console.sh
bash scripts/build-example.sh
exec npx --no-install tsx runtime/node/main.ts
