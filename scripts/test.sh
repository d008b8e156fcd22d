#!/usr/bin/env bash
# Every test: types, lint, the trainer (Python), then the TypeScript suites (unit, integration, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
echo "== typecheck"; npx tsc --noEmit && npx tsc --noEmit -p web
echo "== lint"; npx biome check .
echo "== python"; bash scripts/test-py.sh
echo "== console"; bash scripts/build-console.sh && bash scripts/build-example.sh
echo "== typescript"; npx vitest run
