"""The upper bound for a reader's adapter: full fine-tuning of every base weight on the same feedback.

Same readers, passages, replay and early stopping as experiments/personalize.py (which trains LoRA through the
production trainer); here each reader gets a private copy of the whole model, trained with AdamW on all 4 M
parameters, best held-out step kept. Prints one JSON line per reader (own / other / general change, as
personalize.py) and a summary; run personalize.py with the same --readers/--general for the LoRA side.

Usage (from gpu-worker/trainer; shards from `npm run build:shards`):
    python3 -m experiments.full_finetune --model ../../models/brown-4m --shards ../../data/brown --readers 4
"""
from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np
import torch

from experiments.personalize import mean_nll, reader_material
from tailor_trainer.data import load_shards
from tailor_trainer.model import nll_per_token
from tailor_trainer.pretrain import load_model


def batch_loss(model, rows: list[list[int]], bos: int) -> torch.Tensor:
    width = max(len(r) for r in rows) + 1
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width - 1, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r) + 1] = torch.tensor([bos] + r)
        mask[i, : len(r)] = True
    logits, _ = model(ids[:, :-1], attention_mask=mask.long())
    nll = nll_per_token(logits, ids[:, 1:])
    return (nll * mask).sum() / mask.sum()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--shards", required=True)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--passage", type=int, default=96)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--general", type=int, default=24)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    base = load_model(args.model)
    bos = base.cfg.bos_id
    _, docs = load_shards(args.shards)
    readers, general_eval = reader_material(docs, args.readers, args.passage, args.general)

    with torch.no_grad():
        base_future = {r["file"]: mean_nll(base, r["future"], bos) for r in readers}
        base_general = mean_nll(base, general_eval, bos)
    params = sum(p.numel() for p in base.parameters())
    rows = []
    t0 = time.time()
    for r in readers:
        model = copy.deepcopy(base).train()
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            best = mean_nll(model.eval(), r["held"], bos)
        best_state, best_step, stale = copy.deepcopy(model.state_dict()), 0, 0
        for step in range(1, args.steps + 1):
            model.train()
            pick = torch.randint(len(r["train"]), (args.batch,), generator=g).tolist()
            loss = batch_loss(model, [r["train"][i] for i in pick], bos)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % args.eval_every == 0:
                with torch.no_grad():
                    held = mean_nll(model.eval(), r["held"], bos)
                if held < best - 1e-6:
                    best, best_step, stale = held, step, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    stale += 1
                    if stale >= args.patience:
                        break
        model.load_state_dict(best_state)
        model.eval()
        with torch.no_grad():
            own = mean_nll(model, r["future"], bos) / base_future[r["file"]] - 1
            others = [mean_nll(model, o["future"], bos) / base_future[o["file"]] - 1 for o in readers if o is not r]
            general = mean_nll(model, general_eval, bos) / base_general - 1
        rows.append({"reader": r["file"], "genre": r["genre"], "best_step": best_step,
                     "own_change_pct": round(100 * own, 2), "other_change_pct": round(100 * float(np.mean(others)), 2),
                     "specificity_pts": round(100 * (float(np.mean(others)) - own), 2),
                     "general_change_pct": round(100 * general, 2)})
        print(json.dumps(rows[-1]), flush=True)
    summary = {k: round(float(np.mean([x[k] for x in rows])), 3) for k in
               ("own_change_pct", "other_change_pct", "specificity_pts", "general_change_pct")}
    summary.update(trainable_params=params, adapter_bytes_fp32=4 * params, train_seconds=round(time.time() - t0, 1),
                   args=vars(args))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
