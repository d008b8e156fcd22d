#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine with Node 20: system packages from apt, npm dependencies.
# Usage: scripts/setup.sh [run|test]   ("test" adds what only the test suite needs: PostgreSQL, Chromium...)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "Tailor needs Node.js >= $need_node_major (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# python3-torch: the trainer (Debian's 1.13, CPU). libopenblas0-pthread: without it torch's matrix products
# run on the reference BLAS, ~25x slower. For the tests: python3-pytest and python3-onnx (the trainer's
# tests), postgresql (a real server), chromium (the browser tests), prometheus (promtool checks /metrics).
packages=(python3-torch python3-numpy libopenblas0-pthread)
if [ "$mode" = test ]; then packages+=(python3-pytest python3-onnx postgresql chromium prometheus); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages. Run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm ci only when the lockfile changed since the last install (node_modules/.package-lock.json is npm's own).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi
