"""Training throughput: 16 users' adapters trained together in one batch vs the same 16 one after another.

Each user has the default recipe's data (48 examples of 128 tokens), rank 8 on all targets, batch 8 per user,
a fixed step budget (no early stopping), one evaluation at the end. Prints a JSON line; `npm run bench`
records it. Usage (from gpu-worker/trainer):
    python3 -m experiments.throughput --model ../../models/brown-4m [--users 16 --steps 15 --device cpu]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import torch

from tailor_trainer.train_lora import run_job


def users(n: int, examples: int, length: int, vocab: int, out: str) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [{"id": f"u{i}", "out_dir": f"{out}/u{i}",
             "train": [{"prompt": [], "completion": torch.randint(1, vocab, (length,), generator=g).tolist()}
                       for _ in range(examples)],
             "heldout": []} for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--examples", type=int, default=48)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--recipe-steps", type=int, default=60, help="steps of the default recipe, for users/hour")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    settings = {"steps": args.steps, "lr": 3e-4, "batch_size": 8, "eval_every": args.steps, "patience": 10**6,
                "max_len": args.length}
    with tempfile.TemporaryDirectory() as tmp:
        data = users(args.users, args.examples, args.length, 4096, tmp)
        job = lambda us: {"version": 1, "base_model": args.model, "lora": {"r": 8, "alpha": 16},  # noqa: E731
                          "train": settings, "users": us}
        run_job(job(data[:1]), args.device)  # warm-up: model load, allocator
        t0 = time.perf_counter()
        run_job(job(data), args.device)
        batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        for u in data:
            run_job(job([u]), args.device)
        sequential = time.perf_counter() - t0
    per_user_batched = batched / args.users * args.recipe_steps / args.steps
    per_user_sequential = sequential / args.users * args.recipe_steps / args.steps
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else (platform.processor() or "cpu")
    print(json.dumps({
        "device": args.device, "device_name": name, "threads": args.threads, "cpus": os.cpu_count(),
        "users": args.users, "steps": args.steps, "examples": args.examples, "length": args.length,
        "batched_s": round(batched, 2), "sequential_s": round(sequential, 2),
        "ratio": round(sequential / batched, 2),
        "users_per_hour_batched": round(3600 / per_user_batched, 1),
        "users_per_hour_sequential": round(3600 / per_user_sequential, 1),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
