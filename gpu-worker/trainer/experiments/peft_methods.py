"""LoRA vs prefix tuning vs prompt tuning on the same readers, passages and recipe.

The readers, passages and replay of experiments/personalize.py (its `reader_material`: held-out Brown fiction
stories, the first two thirds liked, the latest fifth of those the held-out feedback, `--general` replay windows
of training text mixed in, the last third never trained on), the same 60 steps, batch 8, early stopping on the
held-out feedback (every 5 steps, patience 3, best step kept). Each reader is trained alone by:
1. LoRA, rank 8 on all 7 targets, alpha 16, lr 3e-4: `train-lora`'s run_job, method "lora";
2. prefix tuning, 16 virtual tokens, lr 3e-2: run_job, method "prefix" (per layer learned keys and values in
   front of the KV cache, initialised from the base model's own on the reader's first training row);
3. prompt tuning (Lester et al. 2021): 16 learned input embeddings [16, 256] put in front of the token
   embeddings (positions 0..15, the text at 16..), initialised from the embeddings of the reader's first 16
   training tokens, AdamW at each of `--prompt-lrs`; the lr with the lower mean held-out loss over the readers
   (the early-stopping set, never the scored last thirds) is the "prompt" row. The trainer and model.py have no
   embeddings input, so it is trained here: `forward_embeds` mirrors LlamaForCausalLM.forward from embeddings
   (the model's own layers, norm and rotary), and the loop mirrors run_job's (same row sampling, seed, loss,
   clipping, evaluation and keep-the-best rule, through train_lora's make_rows / user_losses / eval_users).
Scored as personalize.py: own = mean NLL of the reader's last third vs the base model; other = the same change
on the other readers' last thirds (specificity = other - own, points); general = held-out non-fiction.

Serving prompt tuning would need more than prefix tuning: a prompt is an input, so its keys and values are
computed by the model, depend on the base weights and on any LoRA under it, and cannot be stored as a KV prefix
once for all. The served graph would need an input-embeddings path (inputs_embeds in place of input_ids for
the first P positions, or a prompt input concatenated after the embedding lookup), and every new session would
run the P virtual tokens through the model (a P-token prefill) before the text. A prefix is fed as the first
past positions of the KV cache with the graph as it is.

Usage (from gpu-worker/trainer; shards from `npm run build:shards`):
    /usr/bin/python3 -m experiments.peft_methods [--readers 4 --steps 60 --general 24 --methods lora,prefix,prompt]

Printed on this machine (2026-12-06; 2 vCPUs shared with a running benchmark, 1 torch thread, so seconds are
noisy; readers ck02 ck09 ck11 ck20; defaults):
    method / reader  trainable  held-out before → after  own Δ %  other Δ %  specificity  non-fiction Δ %  train s
    lora   ck02       149,504  4.9000 → 4.8353          +0.34    +0.52      +0.18 pts    +0.63            56.3
    lora   ck09       149,504  4.7466 → 4.7206          -0.36    +0.49      +0.85 pts    +0.64            51.8
    lora   ck11       149,504  4.3674 → 4.3433          -0.98    +0.35      +1.34 pts    +0.12            46.0
    lora   ck20       149,504  4.6353 → 4.6245          -0.35    +0.05      +0.40 pts    +0.11            20.9
    lora   mean       149,504  4.6623 → 4.6309          -0.34    +0.35      +0.69 pts    +0.37            43.7
    prefix ck02        16,384  4.9000 → 4.8827          -0.22    -0.18      +0.04 pts    +0.13            16.2
    prefix ck09        16,384  4.7466 → 4.7195          -0.31    -0.19      +0.12 pts    +0.29            17.7
    prefix ck11        16,384  4.3674 → 4.3514          -0.28    -0.09      +0.19 pts    +0.24            19.5
    prefix ck20        16,384  4.6353 → 4.6353 (none)   -0.18    +0.26      +0.44 pts    +0.28             6.5
    prefix mean        16,384  4.6623 → 4.6472          -0.25    -0.05      +0.20 pts    +0.24            14.9
    prompt ck02         4,096  4.9000 → 4.8805          +0.05    -0.08      -0.13 pts    -0.01            27.2
    prompt ck09         4,096  4.7466 → 4.7208          -0.35    -0.07      +0.28 pts    +0.10            48.1
    prompt ck11         4,096  4.3674 → 4.3440          -0.28    +0.04      +0.32 pts    +0.56             7.6
    prompt ck20         4,096  4.6353 → 4.6353 (none)   -0.04    +0.45      +0.50 pts    +0.59             5.7
    prompt mean         4,096  4.6623 → 4.6452          -0.16    +0.08      +0.24 pts    +0.31            22.2
    prompt tuning kept lr 3e-2 (mean held-out 4.6452; lr 1e-1: 4.6512, own -0.07 %, specificity +0.18 pts,
    non-fiction +0.47 %). (none): no step improved the held-out loss, so the initial prefix / prompt (the reader's
    own text) is what is scored, as run_job keeps it; the worker's gate would reject it (improved: false).
    LoRA's mean is personalize.py --general 24's (docs/peft.md). Train s: run_job's seconds (model load and its
    train-sample evaluations included) for lora / prefix, the loop's for prompt; one reader alone each.
    The whole run: about 7 minutes.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from experiments.personalize import adapter_feed, mean_nll, reader_material
from tailor_trainer.data import load_shards
from tailor_trainer.model import LlamaForCausalLM, causal_mask
from tailor_trainer.prefix import PROMPT_EMBEDDINGS, prefixed, to_kv
from tailor_trainer.pretrain import load_model
from tailor_trainer.safetensors_io import load as load_safetensors
from tailor_trainer.train_lora import Example, NoAdapter, TrainSettings, eval_users, make_rows, run_job, user_losses

COLUMNS = ("trainable", "heldout_before", "heldout_after", "best_step", "own_change_pct", "other_change_pct",
           "specificity_pts", "general_change_pct", "train_seconds")


def forward_embeds(model: LlamaForCausalLM, prompt: torch.Tensor, input_ids: torch.Tensor,
                   attention_mask: torch.Tensor | None = None, lora=None, logits_at: torch.Tensor | None = None):
    """LlamaForCausalLM.forward with `prompt` [B, P, C] in front of the tokens' embeddings: the prompt at positions
    0..P-1, the tokens [B, T] at P..P+T-1 (right padding per `attention_mask` [B, T]). Logits for the tokens only,
    [B, T, V] (or [N, V] at `logits_at` [B, T]), as the model returns them; no cache."""
    b, t = input_ids.shape
    p = prompt.shape[1]
    if attention_mask is None:
        attention_mask = torch.ones(b, t, dtype=torch.long, device=input_ids.device)
    mask = causal_mask(torch.cat((attention_mask.new_ones(b, p), attention_mask), dim=1), p + t)
    cos, sin = model.model.rotary(torch.arange(p + t, device=input_ids.device)[None].expand(b, -1))
    x = torch.cat((prompt, model.model.embed_tokens(input_ids)), dim=1)
    for layer in model.model.layers:
        x, _ = layer(x, cos, sin, mask, None, lora or {})
    x = model.model.norm(x[:, p:])
    if logits_at is not None:
        x = x[logits_at]
    return torch.matmul(x, model.model.embed_tokens.weight.t()), None


class Prompted:
    """Calls like the model (for personalize.mean_nll and train_lora.user_losses): the base model when no prompt,
    else forward_embeds behind `prompt` ([P, C] for every row, or [B, P, C] per row)."""

    def __init__(self, model: LlamaForCausalLM, prompt: torch.Tensor | None = None):
        self.model, self.prompt = model, prompt

    def __call__(self, input_ids, attention_mask=None, lora=None, logits_at=None, prompt=None):
        prompt = self.prompt if prompt is None else prompt
        if prompt is None:
            return self.model(input_ids, attention_mask=attention_mask, lora=lora, logits_at=logits_at)
        if prompt.dim() == 2:
            prompt = prompt[None].expand(input_ids.shape[0], -1, -1)
        return forward_embeds(self.model, prompt, input_ids, attention_mask, lora, logits_at)


class Prefixed:
    """Calls like the model, every row behind one prefix-tuning adapter's keys and values (PEFT prompt_embeddings)."""

    def __init__(self, model: LlamaForCausalLM, embeddings: torch.Tensor):
        self.model, self.kv = model, to_kv(embeddings, model.cfg)

    def __call__(self, input_ids, lora=None):
        b, t = input_ids.shape
        past = [(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in self.kv]
        return self.model(input_ids, **prefixed(past, torch.ones(b, t, dtype=torch.long)), lora=lora)


class PromptAdapter:
    """One reader's soft prompt, in train_lora's adapter interface (inputs() → the model's keyword inputs)."""

    def __init__(self, init: torch.Tensor):
        self.embeds = torch.nn.Parameter(init.clone())

    def inputs(self, rows_user, attention, groups=None) -> dict:
        return {"attention_mask": attention, "prompt": self.embeds[None].expand(rows_user.shape[0], -1, -1)}


def check_forward_embeds(model: LlamaForCausalLM) -> None:
    """forward_embeds behind the embeddings of real tokens == the model on those tokens followed by the text."""
    ids = torch.arange(1, 41)[None] * 37 % model.cfg.vocab_size
    with torch.no_grad():
        want, _ = model(ids)
        got, _ = forward_embeds(model, model.model.embed_tokens(ids[:, :16]), ids[:, 16:])
    err = float((got - want[:, 16:]).abs().max())
    if err > 1e-4:
        raise AssertionError(f"forward_embeds differs from the model by {err}")


def settings_for(args, lr: float) -> TrainSettings:
    return TrainSettings(steps=args.steps, lr=lr, batch_size=args.batch, eval_every=args.eval_every,
                         patience=args.patience, max_len=args.passage)


def example(tokens: list[int]) -> dict:
    return {"prompt": [], "completion": tokens, "weight": 1.0}


def train_prompt(model: LlamaForCausalLM, reader: dict, args, lr: float) -> tuple[torch.Tensor, dict]:
    """One reader's soft prompt, run_job's loop for one user: per-step batch from a seeded permutation of the
    training rows, mean completion NLL, AdamW, gradient clipped at 1, held-out loss every eval_every steps, the best
    state kept (the base model's held-out loss is the bar; no improving step leaves the initial prompt)."""
    t0 = time.time()
    settings = settings_for(args, lr)
    bos = model.cfg.bos_id
    data = [{"train": [Example([], p, 1.0) for p in reader["train"]],
             "heldout": [Example([], p, 1.0) for p in reader["held"]]}]
    pool = list(zip(*make_rows(data[0]["train"], bos, settings.max_len)))
    first = reader["train"][0]
    first = (first * -(-args.prompt_tokens // len(first)))[: args.prompt_tokens]
    with torch.no_grad():
        adapter = PromptAdapter(model.model.embed_tokens(torch.tensor(first)))
    wrapped = Prompted(model)
    opt = torch.optim.AdamW([adapter.embeds], lr=lr, weight_decay=settings.weight_decay)
    gen = torch.Generator().manual_seed(settings.seed)
    before = eval_users(wrapped, NoAdapter(), data, "heldout", settings, bos, "cpu")[0]
    best, best_step, best_state, stale = before, 0, adapter.embeds.detach().clone(), 0
    for step in range(1, settings.steps + 1):
        perm = torch.randperm(len(pool), generator=gen).tolist()
        rows = [(0, *pool[perm[i % len(pool)]]) for i in range(settings.batch_size)]
        loss = user_losses(wrapped, adapter, rows, 1, "cpu", groups=[0])[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([adapter.embeds], settings.grad_clip)
        opt.step()
        if step % settings.eval_every == 0 or step == settings.steps:
            held = eval_users(wrapped, adapter, data, "heldout", settings, bos, "cpu")[0]
            if held < best - 1e-6:
                best, best_step, stale, best_state = held, step, 0, adapter.embeds.detach().clone()
            else:
                stale += 1
                if stale >= settings.patience:
                    break
    return best_state, {"best_step": best_step, "heldout_before": before, "heldout_after": best,
                        "train_seconds": time.time() - t0}


def train_job(args, reader: dict, method: str, out_dir: str) -> dict:
    """One reader alone through train-lora's run_job (LoRA or prefix)."""
    job = {"version": 1, "base_model": args.model, "method": method,
           "lora": {"r": args.lora_r, "alpha": args.lora_alpha, "targets": args.targets.split(",")},
           "train": vars(settings_for(args, args.lora_lr if method == "lora" else args.prefix_lr)),
           "users": [{"id": reader["file"], "out_dir": out_dir, "train": [example(p) for p in reader["train"]],
                      "heldout": [example(p) for p in reader["held"]]}]}
    if method == "prefix":
        job["prefix"] = {"num_virtual_tokens": args.prefix_tokens}
    result = run_job(job, "cpu")
    u = result["users"][0]
    return {"best_step": u["best_step"], "heldout_before": u["heldout_loss_before"],
            "heldout_after": u["heldout_loss_after"], "train_seconds": result["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="../../models/brown-4m")
    ap.add_argument("--shards", default="../../data/brown")
    ap.add_argument("--readers", type=int, default=4, help="the first N held-out fiction stories")
    ap.add_argument("--passage", type=int, default=96)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--general", type=int, default=24, help="replay windows mixed into each reader (docs/peft.md)")
    ap.add_argument("--methods", default="lora,prefix,prompt")
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--lora-alpha", type=float, default=16)
    ap.add_argument("--lora-lr", type=float, default=3e-4)
    ap.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    ap.add_argument("--prefix-tokens", type=int, default=16)
    ap.add_argument("--prefix-lr", type=float, default=3e-2)
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--prompt-lrs", default="3e-2,1e-1", help="tried each; the lower mean held-out loss is kept")
    args = ap.parse_args()
    torch.set_num_threads(1)
    methods = args.methods.split(",")

    model = load_model(args.model)
    for p in model.parameters():
        p.requires_grad_(False)
    check_forward_embeds(model)
    bos = model.cfg.bos_id
    _, docs = load_shards(args.shards)
    readers, general_eval = reader_material(docs, args.readers, args.passage, args.general)
    base_future = {r["file"]: mean_nll(model, r["future"], bos) for r in readers}
    base_general = mean_nll(model, general_eval, bos)

    def score(r: dict, scorer, lora=None) -> dict:
        own = mean_nll(scorer, r["future"], bos, lora) / base_future[r["file"]] - 1
        other = float(np.mean([mean_nll(scorer, o["future"], bos, lora) / base_future[o["file"]] - 1
                               for o in readers if o is not r]))
        general = mean_nll(scorer, general_eval, bos, lora) / base_general - 1
        return {"own_change_pct": 100 * own, "other_change_pct": 100 * other,
                "specificity_pts": 100 * (other - own), "general_change_pct": 100 * general}

    rows: dict[str, list[dict]] = {}

    def record(method: str, r: dict, trained: dict, scores: dict, trainable: int) -> None:
        row = {"method": method, "reader": r["file"], "genre": r["genre"], "trainable": trainable, **trained, **scores}
        row = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        rows.setdefault(method, []).append(row)
        print(json.dumps(row), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for r in readers:
            for method in ("lora", "prefix"):
                if method not in methods:
                    continue
                out = f"{tmp}/{method}/{r['file']}"
                trained = train_job(args, r, method, out)
                tensors, _ = load_safetensors(f"{out}/adapter_model.safetensors")
                trainable = sum(t.numel() for t in tensors.values())
                with torch.no_grad():
                    if method == "lora":
                        scores = score(r, model, adapter_feed(f"{out}/adapter_model.safetensors",
                                                              args.lora_alpha / args.lora_r))
                    else:
                        scores = score(r, Prefixed(model, tensors[PROMPT_EMBEDDINGS]))
                record(method, r, trained, scores, trainable)
            if "prompt" in methods:
                for lr in map(float, args.prompt_lrs.split(",")):
                    prompt, trained = train_prompt(model, r, args, lr)
                    with torch.no_grad():
                        scores = score(r, Prompted(model, prompt))
                    record(f"prompt lr {lr:g}", r, trained, scores, prompt.numel())

    prompt_runs = [m for m in rows if m.startswith("prompt")]
    if prompt_runs:
        best = min(prompt_runs, key=lambda m: np.mean([x["heldout_after"] for x in rows[m]]))
        rows["prompt"] = [{**x, "method": "prompt", "lr": float(best.split()[-1])} for x in rows[best]]
    summary = []
    for method, rs in rows.items():
        mean = {k: round(float(np.mean([x[k] for x in rs])), 4) for k in COLUMNS}
        summary.append({"method": method, "readers": len(rs), **mean,
                        "readers_specific": sum(x["specificity_pts"] > 0 for x in rs)})
        if method == "prompt":
            summary[-1]["lr"] = rs[0]["lr"]
    for s in summary:
        print(json.dumps(s))
    # The table: per reader and mean, for LoRA, prefix and the kept prompt-tuning lr.
    shown = [m for m in ("lora", "prefix", "prompt") if m in rows]
    print("| method | reader | trainable | held-out before → after | own Δ % | other Δ % | specificity pts "
          "| non-fiction Δ % | train s |")
    for m in shown:
        mean = next(s for s in summary if s["method"] == m)
        for x in rows[m] + [{**mean, "reader": "mean"}]:
            print(f"| {m} | {x['reader']} | {x['trainable']:,.0f} | {x['heldout_before']:.4f} → "
                  f"{x['heldout_after']:.4f} | {x['own_change_pct']:+.2f} | {x['other_change_pct']:+.2f} | "
                  f"{x['specificity_pts']:+.2f} | {x['general_change_pct']:+.2f} | {x['train_seconds']:.1f} |")
    print(json.dumps({"args": vars(args)}))


if __name__ == "__main__":
    main()
