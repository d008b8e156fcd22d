#!/usr/bin/env bash
# The trainer's tests, on Debian's python3 and torch (not a pyenv/venv python that lacks them).
set -euo pipefail
cd "$(dirname "$0")/../gpu-worker/trainer"
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests "$@"
