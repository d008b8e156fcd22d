"""`pretrain`: token-id shards → base weights (`model.safetensors` + `config.json`), with progress and a loss log."""
from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from . import safetensors_io
from .config import ModelConfig, PretrainConfig
from .data import Doc, WindowSampler, eval_windows, load_shards
from .model import LlamaForCausalLM, nll_per_token
from .progress import Progress


@torch.no_grad()
def evaluate(model: LlamaForCausalLM, docs: list[Doc], seq_len: int, bos: int, device: str,
             max_windows_per_doc: int | None = None, batch_size: int = 16) -> dict[str, dict[str, float]]:
    """Mean NLL and perplexity per genre (and overall) over deterministic windows of each document."""
    model.eval()
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    rows: list[tuple[str, np.ndarray]] = []
    for d in docs:
        wins = eval_windows(d, seq_len, bos)
        rows += [(d.genre, w) for w in wins[:max_windows_per_doc]]
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        width = max(len(w) for _, w in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.bool)
        for j, (_, w) in enumerate(chunk):
            ids[j, : len(w)] = torch.from_numpy(w)
            mask[j, : len(w)] = True
        ids, mask = ids.to(device), mask.to(device)
        logits, _ = model(ids[:, :-1])
        nll = nll_per_token(logits, ids[:, 1:], ignore=~mask[:, 1:])
        for j, (genre, _) in enumerate(chunk):
            n = int(mask[j, 1:].sum())
            for key in (genre, "all"):
                sums[key][0] += float(nll[j].sum())
                sums[key][1] += n
    model.train()
    return {k: {"nll": s / n, "ppl": math.exp(s / n), "tokens": n} for k, (s, n) in sorted(sums.items())}


def lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


def pretrain(shards: str, out_dir: str, mcfg: ModelConfig, tcfg: PretrainConfig, device: str) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index, docs = load_shards(shards)
    if index["vocab_size"] != mcfg.vocab_size:
        raise ValueError(f"shards have vocab {index['vocab_size']}, model {mcfg.vocab_size}")
    train_docs = [d for d in docs if d.split == "train"]
    held_docs = [d for d in docs if d.split == "heldout"]
    torch.manual_seed(tcfg.seed)
    model = LlamaForCausalLM(mcfg).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tcfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tcfg.lr, betas=(0.9, 0.95))
    sampler = WindowSampler(train_docs, tcfg.seq_len, mcfg.bos_id, tcfg.seed)
    train_tokens = sum(len(d.tokens) for d in train_docs)
    print(f"pretrain: {model.num_params():,} parameters, {len(train_docs)} train docs ({train_tokens:,} tokens), "
          f"{len(held_docs)} held-out docs, device {device}", flush=True)
    log = open(out / "train_log.jsonl", "w")
    best = float("inf")
    t0 = time.time()
    progress = Progress("pretrain", tcfg.steps)
    for step in range(tcfg.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tcfg)
        batch = sampler.batch(tcfg.batch_size).to(device)
        logits, _ = model(batch[:, :-1])
        loss = nll_per_token(logits, batch[:, 1:]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
        opt.step()
        entry = {"step": step + 1, "loss": round(loss.item(), 4), "lr": opt.param_groups[0]["lr"],
                 "elapsed_s": round(time.time() - t0, 1)}
        last = step + 1 == tcfg.steps
        if (step + 1) % tcfg.eval_every == 0 or last:
            ev = evaluate(model, held_docs, tcfg.seq_len, mcfg.bos_id, device, max_windows_per_doc=None if last else 2)
            entry["val_nll"] = round(ev["all"]["nll"], 4)
            if ev["all"]["nll"] < best:
                best = ev["all"]["nll"]
                save_base(model, out)
        log.write(json.dumps(entry) + "\n")
        log.flush()
        progress.update(step + 1, loss=entry["loss"], val=entry.get("val_nll"))
    elapsed = time.time() - t0
    final = evaluate(model, held_docs, tcfg.seq_len, mcfg.bos_id, device)
    splits = {"train": sorted({d.file for d in train_docs}), "heldout": sorted({d.file for d in held_docs})}
    report = {"params": model.num_params(), "train_tokens": train_tokens, "steps": tcfg.steps,
              "tokens_seen": tcfg.steps * tcfg.batch_size * tcfg.seq_len, "train_seconds": round(elapsed, 1),
              "device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "heldout": final, "pretrain": tcfg.as_dict()}
    save_base(model, out)
    write_config(out, mcfg, {"splits": splits, "pretrain_report": report})
    return report


def save_base(model: LlamaForCausalLM, out: Path) -> None:
    tensors = {k: v for k, v in model.base_state_dict().items()}
    safetensors_io.save(tensors, out / "model.safetensors", {"format": "pt"})


def write_config(out: Path, mcfg: ModelConfig, tailor_extra: dict) -> None:
    (out / "config.json").write_text(json.dumps(mcfg.to_hf(tailor_extra), indent=2) + "\n")


def load_model(model_dir: str | Path, device: str = "cpu") -> LlamaForCausalLM:
    cfg = ModelConfig.load(model_dir)
    model = LlamaForCausalLM(cfg)
    tensors, _ = safetensors_io.load(Path(model_dir) / "model.safetensors")
    if cfg.tie_embeddings:
        tensors.pop("lm_head.weight", None)  # tied to embed_tokens
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if "lora_" not in k]
    if missing or unexpected:
        raise ValueError(f"weights do not match the config: missing {missing}, unexpected {unexpected}")
    return model.to(device).eval()
