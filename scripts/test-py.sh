#!/usr/bin/env bash
# The trainer's tests: on Debian's python3 and torch (what the worker trains with), then the import tests in the
# import environment (.venv, scripts/setup-venv.sh: transformers is their reference).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
cd gpu-worker/trainer
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests "$@"
exec ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_hf_import.py "$@"
