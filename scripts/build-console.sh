#!/usr/bin/env bash
# Builds the console (web/) into web/dist when its sources are newer than the build. Idempotent and quick
# when nothing changed; `npm start` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=web/dist/index.html
if [ -f "$stamp" ] && [ -z "$(find web/src web/index.html web/vite.config.ts schema package-lock.json -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "setup: building the console (web/ → web/dist)"
npx --no-install vite build --config web/vite.config.ts --logLevel warn
