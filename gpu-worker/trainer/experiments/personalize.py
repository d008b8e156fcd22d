"""Does a reader's adapter learn *their* story? The experiment behind the worker's recipe.

Each simulated reader follows one held-out fiction file: its passages in order, the first two thirds liked
(feedback), the last third never sent. After one batched training cycle we compare, per reader:
- own:   mean NLL of their story's last third, with the adapter vs the base model;
- other: the same change on the other readers' last thirds (specificity = other change - own change);
- general: the change on held-out non-fiction (the base model's general ability must not suffer).

Usage (from gpu-worker/trainer): python3 -m experiments.personalize --model ../../models/brown-4m \
    --shards ../../data/brown --readers 8 [--lr 3e-4 --steps 60 --r 8 ...]
"""
from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np
import torch

from tailor_trainer.data import load_shards
from tailor_trainer.model import nll_per_token
from tailor_trainer.pretrain import load_model
from tailor_trainer.safetensors_io import load as load_safetensors
from tailor_trainer.train_lora import run_job

FICTION = {"adventure", "fiction", "humor", "mystery", "romance", "science_fiction"}


def passages(tokens: np.ndarray, size: int) -> list[list[int]]:
    return [tokens[i : i + size].tolist() for i in range(0, len(tokens) - size // 2, size)]


@torch.no_grad()
def mean_nll(model, texts: list[list[int]], bos: int, lora=None) -> float:
    tot, n = 0.0, 0
    for t in texts:
        ids = torch.tensor([[bos] + t])
        logits, _ = model(ids[:, :-1], lora=lora)
        nll = nll_per_token(logits, ids[:, 1:])
        tot += float(nll.sum())
        n += nll.numel()
    return tot / n


def reader_material(docs, n_readers: int, size: int, general: int):
    """The readers (held-out fiction files, one each) and the held-out non-fiction passages scored for drift. A
    reader's passages: the first two thirds liked (the latest fifth of them the held-out feedback, the rest
    trained on, plus `general` random windows of training text), the last third never sent (`future`)."""
    stories = [d for d in docs if d.split == "heldout" and d.genre in FICTION][:n_readers]
    nonfiction = [d for d in docs if d.split == "heldout" and d.genre not in FICTION]
    general_eval = [p for d in nonfiction[:6] for p in passages(d.tokens, size)[:4]]
    train_pool = [d for d in docs if d.split == "train"]
    rng = np.random.default_rng(0)
    readers = []
    for d in stories:
        ps = passages(d.tokens, size)
        cut = (2 * len(ps)) // 3
        liked, future = ps[:cut], ps[cut:]
        held = liked[-max(2, len(liked) // 5) :]
        train = liked[: len(liked) - len(held)]
        for _ in range(general):
            g = train_pool[rng.integers(len(train_pool))].tokens
            off = rng.integers(0, len(g) - size)
            train.append(g[off : off + size].tolist())
        readers.append({"file": d.file, "genre": d.genre, "liked": len(liked), "train": train, "held": held,
                        "future": future})
    return readers, general_eval


def adapter_feed(path: str, scaling: float):
    tensors, _ = load_safetensors(path)
    feed = {}
    for k, v in tensors.items():
        if k.endswith("lora_A.weight"):
            m = k[len("base_model.model.") : -len(".lora_A.weight")]
            feed[m] = (v, tensors[k.replace("lora_A", "lora_B")] * scaling)
    return feed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--shards", required=True)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--passage", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    ap.add_argument("--general", type=int, default=0, help="general (train-split) passages mixed into each reader")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model = load_model(args.model)
    bos = model.cfg.bos_id
    _, docs = load_shards(args.shards)
    readers, general_eval = reader_material(docs, args.readers, args.passage, args.general)

    with tempfile.TemporaryDirectory() as tmp:
        def example(tokens: list[int]) -> dict:
            return {"prompt": [], "completion": tokens, "weight": 1.0}

        users = [{"id": r["file"], "out_dir": f"{tmp}/{r['file']}", "train": [example(p) for p in r["train"]],
                  "heldout": [example(p) for p in r["held"]]} for r in readers]
        job = {"version": 1, "base_model": args.model, "lora": {"r": args.r, "alpha": args.alpha, "targets": args.targets.split(",")},
               "train": {"steps": args.steps, "lr": args.lr, "batch_size": args.batch, "eval_every": args.eval_every,
                         "patience": args.patience, "max_len": args.passage, "weight_decay": args.weight_decay},
               "users": users}
        result = run_job(job, "cpu")
        scaling = args.alpha / args.r
        feeds = {u["id"]: adapter_feed(f"{u['out_dir']}/adapter_model.safetensors", scaling) for u in users}

        base_future = {r["file"]: mean_nll(model, r["future"], bos) for r in readers}
        base_general = mean_nll(model, general_eval, bos)
        rows = []
        for r, res in zip(readers, result["users"]):
            feed = feeds[r["file"]]
            own = mean_nll(model, r["future"], bos, feed) / base_future[r["file"]] - 1
            others = [mean_nll(model, o["future"], bos, feed) / base_future[o["file"]] - 1
                      for o in readers if o is not r]
            general = mean_nll(model, general_eval, bos, feed) / base_general - 1
            rows.append({"reader": r["file"], "genre": r["genre"], "liked": r["liked"], "best_step": res["best_step"],
                         "own_change_pct": round(100 * own, 2), "other_change_pct": round(100 * float(np.mean(others)), 2),
                         "specificity_pts": round(100 * (float(np.mean(others)) - own), 2),
                         "general_change_pct": round(100 * general, 2)})
    for row in rows:
        print(json.dumps(row))
    summary = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in
               ("own_change_pct", "other_change_pct", "specificity_pts", "general_change_pct")}
    summary["readers_specific"] = sum(r["specificity_pts"] > 0 for r in rows)
    summary["args"] = vars(args)
    summary["train_seconds"] = result["seconds"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
