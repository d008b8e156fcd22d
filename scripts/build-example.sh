#!/usr/bin/env bash
# Builds the example app (example/ → example/dist: index.html and app.js, the SDK with on-device generation
# bundled in) when its sources are newer than the build. Idempotent and quick when nothing changed; `npm start`
# and `npm test` run it. onnxruntime-web's wasm is served from node_modules, not copied.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=example/dist/app.js
if [ -f "$stamp" ] && [ -z "$(find example/index.html example/main.ts sdk/src engine core/model schema/contracts.ts package-lock.json -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "setup: building the example app (example/ → example/dist)"
mkdir -p example/dist
rm -f example/dist/*.js example/dist/*.map
# Split: the page loads the SDK at once, and the engine (tokenizer, onnxruntime-web) only for on-device runs.
npx --no-install esbuild app=example/main.ts --bundle --splitting --format=esm --platform=browser \
  --target=es2022 --alias:onnxruntime-web=onnxruntime-web/wasm --minify --sourcemap --log-level=warning \
  --outdir=example/dist
cp example/index.html example/dist/index.html
