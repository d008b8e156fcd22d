#!/usr/bin/env bash
# Trains the five Brown genre styles for an app on a running platform (TAILOR_URL, ADMIN_TOKEN), one after
# another, each from its genre's training-split passages, and waits for each job.
#   bash gpu-worker/styles/train-brown-styles.sh <app-id> [genre ...]
set -euo pipefail
app="${1:?usage: train-brown-styles.sh <app-id> [genre ...]}"
shift
genres=("$@")
[ ${#genres[@]} -gt 0 ] || genres=(mystery romance science_fiction adventure humor)
cd "$(dirname "$0")/../.."
for genre in "${genres[@]}"; do
  echo "== style ${genre}"
  npm run --silent tailor -- styles train "$app" "$genre" --genre "$genre" --wait
done
npm run --silent tailor -- adapters "$app"
