#!/usr/bin/env bash
# Rebuilds models/brown-4m from scratch: tokenizer, token shards, pretraining, ONNX export, model card.
# The shipped files came from exactly this script; retrain only when the format must change (~40 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
out=models/brown-4m
npm run build:tokenizer
npm run build:shards
(cd gpu-worker/trainer && $py -m tailor_trainer pretrain --shards ../../data/brown --out ../../data/pretrain \
  --steps 900 --batch-size 16 --lr 0.0025 --min-lr 0.00025 --warmup 40 --eval-every 100)
cp data/pretrain/config.json data/pretrain/model.safetensors data/pretrain/train_log.jsonl "$out/"
(cd gpu-worker/trainer && $py -m tailor_trainer export-onnx --model "../../$out")
npx tsx models/build/make-replay.ts
npx tsx models/build/model-card.ts
