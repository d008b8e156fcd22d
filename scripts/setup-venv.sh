#!/usr/bin/env bash
# Idempotent: the Python environment that imports Hugging Face checkpoints and checks parity against
# `transformers` and `peft` (.venv at the repository root; the trainer itself also runs on Debian's python3-torch).
# pip is pointed at the package index this machine configures (`pip config list`), explicitly: left to itself,
# pip retries the public index for minutes first. Exits 0 with .venv ready, 1 with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
want="torch==2.13.0+cpu transformers>=5,<6 peft>=0.21,<0.22 safetensors onnx onnxruntime jinja2 pytest"
stamp=.venv/.tailor-requirements
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
command -v python3 >/dev/null || { echo "setup-venv: python3 is missing" >&2; exit 1; }
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "setup-venv: python3-venv is missing (sudo apt-get install -y python3-venv)" >&2; exit 1
  fi
fi
args=()
conf=$(pip config list 2>/dev/null || true)
value() { printf '%s\n' "$conf" | sed -n "s/^[^.]*\.$1='\(.*\)'$/\1/p" | head -1; }
index=$(value index-url); extra=$(value extra-index-url); links=$(value find-links)
indexes=($index $extra)
if [ ${#indexes[@]} -gt 0 ]; then
  args+=(--index-url "${indexes[0]}")
  for i in "${indexes[@]:1}"; do args+=(--extra-index-url "$i"); done
fi
for l in $links; do args+=(--find-links "$l"); done
echo "setup-venv: creating .venv (torch 2.13 CPU, transformers, peft, onnx, onnxruntime)"
rm -rf .venv
python3 -m venv .venv
# shellcheck disable=SC2086
.venv/bin/pip install -q "${args[@]}" $want 2>&1 | { grep -v "is ignored: it is neither" || true; }
printf '%s' "$want" > "$stamp"
