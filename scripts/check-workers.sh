#!/usr/bin/env bash
# Builds both Workers bundles and checks each wrangler config with `wrangler deploy --dry-run`: the closest
# check of a deployment without a Cloudflare account (bindings, modules, static assets, compatibility flags).
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
npx --no-install tsx infra/workers/build.ts runtime/workers/engine-worker.ts
npx --no-install tsx infra/workers/build.ts runtime/workers/app-worker.ts --nodejs-compat \
  --assets infra/workers/dist/app-worker-assets
for config in infra/workers/wrangler.toml infra/workers/wrangler.app.toml; do
  echo "== wrangler deploy --dry-run -c $config"
  out=$(npx --no-install wrangler deploy --dry-run -c "$config" 2>&1) || { echo "$out"; exit 1; }
  echo "$out" | grep -E 'Total Upload|--dry-run: exiting|assets directory' || { echo "$out"; exit 1; }
done
