"""`train-lora`: train LoRA (or prefix-tuning) adapters for one or many users in one process and one batch.

Each user owns a slice of stacked parameters `A [U, r, in]`, `B [U, out, r]`; each batch row carries its user's
index and its LoRA product is computed with that user's pair (gathered, then batched matmuls), so the base
model's work is shared across users. The loss is the sum over users of each user's own mean loss, AdamW is
elementwise and gradient clipping is per user: a user's adapter comes out the same as if trained alone.
With `"method": "prefix"` each user trains a prefix instead (prefix.py: keys and values `[U, L, K, P, D]`, each
row behind its user's), with everything else the same.

The job is a JSON object (contract version 1; the TS orchestrator owns the schema and validates it too):
{
  "version": 1,
  "base_model": "/abs/path/models/brown-4m", "base_model_id": "brown-4m",
  "method": "lora",
  "lora": {"r": 8, "alpha": 16, "targets": ["q_proj", ...]},
  "prefix": {"num_virtual_tokens": 16},
  "train": {"steps": 60, "lr": 3e-4, "batch_size": 8, "eval_every": 5, "patience": 3, "max_len": 128,
            "weight_decay": 0.0, "seed": 0},
  "users": [{"id": "u1", "out_dir": "...",
             "train": [{"prompt": [ids], "completion": [ids], "weight": 1.0}], "heldout": [...],
             "baseline_adapter": "path/to/peft-dir", "general": [...], "dislikes": [...]}]
}
`method` (optional): "lora" (the default) or "prefix"; with "prefix" the `lora` key is ignored and each user gets a
PEFT prefix-tuning adapter of `prefix.num_virtual_tokens` (1..64, default 16) virtual tokens, initialised from the
base model's keys and values of the user's first training row. It changes the output from the start, so the
"before" losses are always the base model's, and a user no step improved keeps the initial prefix, not improved.
`baseline_adapter` (optional): a PEFT adapter directory (the user's active version, LoRA or prefix whatever the job
trains) evaluated on the same held-out examples with the same code; the user's result then carries
`baseline_heldout_loss`, what a new version must beat.
`general` (optional): windows of general text, none of them trained on — the guard: a step's adapter is kept only if
its loss on them stays within `train.general_tolerance` (relative) of the base model's; the result then carries
`general_loss_before` (the base model) and `general_loss_after` (the kept adapter). When no step passes, the user's
adapter is the untrained one (`best_step` 0, not improved) and the gate rejects it.
`dislikes` (optional): pushed away by an unlikelihood term of weight `train.unlikelihood` (0: not trained on).
Progress goes to stderr (and stdout as JSON lines with --progress-json); the result is one JSON line on stdout.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import safetensors_io
from .adapters import NoAdapter, StackedLora, StackedPrefix, load_baseline
from .config import LoraConfig, PrefixConfig
from .errors import JobError, TrainingDiverged
from .model import nll_per_token
from .pretrain import load_model
from .progress import Progress

CONTRACT_VERSION = 1
TRAIN_SAMPLE = 32  # training examples per user the reported train losses are measured on
METHODS = ("lora", "prefix")
MAX_VIRTUAL_TOKENS = 64


@dataclass
class Example:
    prompt: list[int]
    completion: list[int]
    weight: float


@dataclass
class TrainSettings:
    steps: int = 60
    lr: float = 3e-4
    batch_size: int = 8
    eval_every: int = 5
    patience: int = 3
    max_len: int = 128
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    unlikelihood: float = 0.0  # weight of the unlikelihood term on each user's dislikes (0: not trained on)
    general_tolerance: float = 0.005  # a kept step's loss on the user's `general` windows ≤ base × (1 + this)


def _examples(raw: list, vocab: int, where: str) -> list[Example]:
    out = []
    for k, e in enumerate(raw):
        try:
            prompt, completion, weight = list(e.get("prompt", [])), list(e["completion"]), float(e.get("weight", 1.0))
        except (KeyError, TypeError, AttributeError) as err:
            raise JobError(f"{where}[{k}]: {err}") from None
        if not completion or not all(isinstance(t, int) and 0 <= t < vocab for t in prompt + completion):
            raise JobError(f"{where}[{k}]: completion must be non-empty and ids within [0, {vocab})")
        if not (weight > 0 and math.isfinite(weight)):
            raise JobError(f"{where}[{k}]: weight must be positive")
        out.append(Example(prompt, completion, weight))
    return out


def parse_job(job: dict, vocab: int) -> tuple[LoraConfig | PrefixConfig, TrainSettings, list[dict]]:
    """The job's adapter configuration (its type says the method), settings and users, or JobError."""
    if job.get("version") != CONTRACT_VERSION:
        raise JobError(f"job contract version {job.get('version')!r}, this trainer speaks {CONTRACT_VERSION}")
    method = job.get("method", "lora")
    if method not in METHODS:
        raise JobError(f"method must be one of {list(METHODS)}, not {method!r}")
    if method == "prefix":
        prefix = job.get("prefix", {})
        if not isinstance(prefix, dict) or set(prefix) - {"num_virtual_tokens"}:
            raise JobError("prefix must be an object with num_virtual_tokens only")
        p = prefix.get("num_virtual_tokens", PrefixConfig().num_virtual_tokens)
        if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= MAX_VIRTUAL_TOKENS:
            raise JobError(f"prefix.num_virtual_tokens must be an integer in [1, {MAX_VIRTUAL_TOKENS}], not {p!r}")
        acfg: LoraConfig | PrefixConfig = PrefixConfig(num_virtual_tokens=p)
    else:
        lora = job.get("lora", {})
        acfg = LoraConfig(r=int(lora.get("r", 8)), alpha=float(lora.get("alpha", 16)),
                          targets=tuple(lora.get("targets", LoraConfig().targets)))
    known = TrainSettings.__dataclass_fields__
    extra = set(job.get("train", {})) - set(known)
    if extra:
        raise JobError(f"unknown train settings: {sorted(extra)}")
    settings = TrainSettings(**job.get("train", {}))
    if not (0 <= settings.general_tolerance < 1):
        raise JobError("general_tolerance must be in [0, 1)")
    users = job.get("users")
    if not isinstance(users, list) or not users:
        raise JobError("users must be a non-empty list")
    parsed = []
    for u in users:
        if not isinstance(u, dict) or "id" not in u or "out_dir" not in u:
            raise JobError("each user needs id and out_dir")
        train = _examples(u.get("train", []), vocab, f"{u['id']}.train")
        held = _examples(u.get("heldout", []), vocab, f"{u['id']}.heldout")
        dislikes = _examples(u.get("dislikes", []), vocab, f"{u['id']}.dislikes")
        general = _examples(u.get("general", []), vocab, f"{u['id']}.general")
        if not train:
            raise JobError(f"{u['id']}: no training examples")
        baseline = u.get("baseline_adapter")
        if baseline is not None and (not isinstance(baseline, str) or not baseline):
            raise JobError(f"{u['id']}: baseline_adapter must be a directory path")
        parsed.append({"id": str(u["id"]), "out_dir": u["out_dir"], "train": train, "heldout": held or train,
                       "dislikes": dislikes, "general": general, "baseline": baseline})
    return acfg, settings, parsed


def make_rows(examples: list[Example], bos: int, max_len: int):
    """[BOS] + prompt + completion in at most max_len + 1 tokens (the prompt loses its start first, then the
    completion its end); loss only on completion tokens. `bos` < 0 (a base that adds none, e.g. Qwen2): no BOS,
    prompt + completion in at most max_len + 1 tokens, and a row without a prompt has its first completion token
    unscored (nothing before it predicts it)."""
    head = [bos] if bos >= 0 else []
    room = max_len + 1 - len(head)
    seqs, masks, weights = [], [], []
    for e in examples:
        completion = e.completion[:room]
        keep = room - len(completion)
        prompt = e.prompt[max(0, len(e.prompt) - keep) :] if keep > 0 else []
        seqs.append(head + prompt + completion)
        masks.append([False] * (len(head) + len(prompt)) + [True] * len(completion))
        weights.append(e.weight)
    return seqs, masks, weights


def batch_tensors(seqs, masks, device):
    width = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    scored = torch.zeros(len(seqs), width, dtype=torch.bool)
    for i, (s, m) in enumerate(zip(seqs, masks)):
        ids[i, : len(s)] = torch.tensor(s)
        scored[i, : len(m)] = torch.tensor(m)
    return ids.to(device), scored.to(device)


def user_losses(model, adapter, rows: list[tuple[int, list[int], list[bool], float]], n_users: int,
                device: str, groups: list[int] | None = None, unlikely: bool = False) -> torch.Tensor:
    """Per user, the weighted mean NLL of their completion tokens over the given rows ([U], differentiable; 0
    for users without rows), each row through `adapter` (Stacked*, Fixed* or NoAdapter). `groups`: the rows are
    these users' in this order, the same number each (the training batches), so each group's rows share one
    adapter pair. `unlikely`: the unlikelihood loss -log(1 - p(token)) instead (Welleck et al. 2019), lowest
    when the model no longer predicts the text."""
    users = torch.tensor([r[0] for r in rows], device=device)
    ids, scored = batch_tensors([r[1] for r in rows], [r[2] for r in rows], device)
    weights = torch.tensor([r[3] for r in rows], device=device)
    attention = (torch.arange(ids.shape[1], device=device)[None] < torch.tensor([len(r[1]) for r in rows],
                                                                                   device=device)[:, None]).long()
    target_mask = scored[:, 1:]
    # Logits only where a completion token is predicted: the prompt positions need none.
    logits, _ = model(ids[:, :-1], **adapter.inputs(users, attention[:, :-1], groups), logits_at=target_mask)
    token_nll = torch.nn.functional.cross_entropy(logits.float(), ids[:, 1:][target_mask], reduction="none")
    if unlikely:  # -log(1 - p) with p = exp(-nll), kept finite where p is ~1
        token_nll = -torch.log1p(-torch.exp(-token_nll).clamp(max=1 - 1e-6))
    row_of = torch.arange(ids.shape[0], device=device)[:, None].expand_as(target_mask)[target_mask]
    per_row = torch.zeros(ids.shape[0], device=device).index_add(0, row_of, token_nll) * weights
    tok_row = target_mask.sum(1).float() * weights
    num = torch.zeros(n_users, device=device).index_add(0, users, per_row)
    den = torch.zeros(n_users, device=device).index_add(0, users, tok_row)
    return num / den.clamp(min=1e-9)


@torch.no_grad()
def eval_users(model, adapter, data, key, settings, bos, device, chunk: int = 32,
               only: list[int] | None = None) -> list[float]:
    """Each user's mean loss on their `key` examples (the users in `only`; the others get nan)."""
    rows = []
    for u, d in enumerate(data):
        if only is not None and u not in only:
            continue
        seqs, masks, weights = make_rows(d[key], bos, settings.max_len)
        rows += [(u, s, m, 1.0) for s, m in zip(seqs, masks)]
    num = torch.zeros(len(data))
    den = torch.zeros(len(data))
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        losses = user_losses(model, adapter, part, len(data), device).cpu()
        toks = torch.zeros(len(data)).index_add(0, torch.tensor([r[0] for r in part]),
                                                torch.tensor([float(sum(r[2][1:])) for r in part]))
        num += losses * toks
        den += toks
    out = (num / den.clamp(min=1e-9)).tolist()
    return out if only is None else [x if u in only else math.nan for u, x in enumerate(out)]


def run_job(job: dict, device: str) -> dict:
    t0 = time.time()
    model = load_model(job["base_model"], device)
    for p in model.parameters():
        p.requires_grad_(False)
    acfg, settings, data = parse_job(job, model.cfg.vocab_size)
    bos = model.cfg.row_bos  # -1: rows without BOS (make_rows)
    n = len(data)
    gens = [torch.Generator().manual_seed(settings.seed) for _ in range(n)]  # per user: same batches alone or not
    train_rows = []
    dislike_rows = []
    for d in data:
        seqs, masks, weights = make_rows(d["train"], bos, settings.max_len)
        train_rows.append(list(zip(seqs, masks, weights)))
        seqs, masks, weights = make_rows(d["dislikes"], bos, settings.max_len)
        dislike_rows.append(list(zip(seqs, masks, weights)) if settings.unlikelihood > 0 else [])
    dislike_batch = max(1, settings.batch_size // 2)
    if isinstance(acfg, PrefixConfig):
        adapter = StackedPrefix(model, acfg, [rows[0][0] for rows in train_rows])
    else:
        adapter = StackedLora(model, acfg, n, settings.seed, device)
    opt = torch.optim.AdamW(adapter.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    # The training-set losses reported (before, after) are measured on a fixed sample: on every example they
    # cost as much as a dozen training steps, and they only describe the fit.
    for d in data:
        d["train_sample"] = d["train"][:: max(1, len(d["train"]) // TRAIN_SAMPLE)][:TRAIN_SAMPLE]
    # "Before" is the base model: a LoRA starts at zero (B = 0) and changes nothing, but a prefix starts from
    # real activations and does; the initial prefix is kept only as the state of a user no step improved.
    base = NoAdapter()
    before_train = eval_users(model, base, data, "train_sample", settings, bos, device)
    before_held = eval_users(model, base, data, "heldout", settings, bos, device)
    baseline_held = {u: eval_users(model, load_baseline(model, d["baseline"], device), [d], "heldout", settings,
                                   bos, device)[0]
                     for u, d in enumerate(data) if d["baseline"]}
    guarded = [u for u, d in enumerate(data) if d["general"]]
    before_general = eval_users(model, base, data, "general", settings, bos, device, only=guarded)
    general_limit = [g * (1 + settings.general_tolerance) for g in before_general]
    best_general = list(before_general)
    best_held = list(before_held)
    best_step = [0] * n
    best_state = [adapter.user_state(u) for u in range(n)]
    stale = [0] * n
    active = [True] * n
    progress = Progress("train-lora", settings.steps)
    history = []
    step = 0
    for step in range(1, settings.steps + 1):
        # Only users still training take part: one that stopped early keeps its best state and costs nothing.
        training = [u for u in range(n) if active[u]]
        rows = []
        for u in training:
            pool = train_rows[u]
            # batch_size rows each (a small pool repeats, in a fresh order): equal groups per user
            perm = torch.randperm(len(pool), generator=gens[u]).tolist()
            pick = [perm[i % len(pool)] for i in range(settings.batch_size)]
            rows += [(u, *pool[i]) for i in pick]
        losses = user_losses(model, adapter, rows, n, device, groups=training)
        opt.zero_grad(set_to_none=True)
        objective = losses.sum()
        # Dislikes: a second, smaller batch per user who has any, pushed away (the reported loss stays the NLL).
        pushing = [u for u in training if dislike_rows[u]]
        if pushing:
            rows = []
            for u in pushing:
                pool = dislike_rows[u]
                perm = torch.randperm(len(pool), generator=gens[u]).tolist()
                rows += [(u, *pool[perm[i % len(pool)]]) for i in range(dislike_batch)]
            objective = objective + settings.unlikelihood * user_losses(
                model, adapter, rows, n, device, groups=pushing, unlikely=True).sum()
        objective.backward()
        adapter.clip_per_user(settings.grad_clip)
        opt.step()
        step_losses = losses.tolist()
        entry = {"step": step, "train_loss": [round(step_losses[u], 5) if active[u] else None for u in range(n)]}
        if step % settings.eval_every == 0 or step == settings.steps:
            held = eval_users(model, adapter, data, "heldout", settings, bos, device, only=training)
            entry["heldout_loss"] = [round(held[u], 5) if u in training else None for u in range(n)]
            checked = [u for u in training if u in guarded]
            if checked:
                general = eval_users(model, adapter, data, "general", settings, bos, device, only=checked)
                entry["general_loss"] = [round(general[u], 5) if u in checked else None for u in range(n)]
            for u in range(n):
                if not active[u]:
                    continue
                # Kept only if it predicts the user's held-out text better and general text not much worse.
                within = u not in checked or general[u] <= general_limit[u]
                if held[u] < best_held[u] - 1e-6 and within:
                    best_held[u], best_step[u], stale[u] = held[u], step, 0
                    best_state[u] = adapter.user_state(u)
                    if u in checked:
                        best_general[u] = general[u]
                else:
                    stale[u] += 1
                    active[u] = stale[u] < settings.patience
        history.append(entry)
        mean_loss = sum(step_losses[u] for u in training) / len(training)
        progress.update(step, loss=mean_loss, active=sum(active))
        if not any(active):
            break

    for u in range(n):
        bad = [k for k, t in best_state[u].items() if not torch.isfinite(t).all()]
        if bad or not all(math.isfinite(x) for x in (best_held[u], before_held[u], before_train[u])):
            raise TrainingDiverged(f"user {data[u]['id']}: non-finite {'weights ' + bad[0] if bad else 'loss'}")

    results = []
    for u, d in enumerate(data):
        out = Path(d["out_dir"])
        out.mkdir(parents=True, exist_ok=True)
        safetensors_io.save(best_state[u], out / "adapter_model.safetensors", {"format": "pt"})
        peft_config = adapter.peft_config(job.get("base_model_id") or job["base_model"])
        (out / "adapter_config.json").write_text(json.dumps(peft_config, indent=2) + "\n")
        results.append({"id": d["id"], "out_dir": str(out), "best_step": best_step[u],
                        "train_examples": len(d["train"]), "heldout_examples": len(d["heldout"]),
                        "train_loss_before": before_train[u], "heldout_loss_before": before_held[u],
                        "heldout_loss_after": best_held[u], "improved": best_step[u] > 0})
        if u in baseline_held:
            results[-1]["baseline_heldout_loss"] = baseline_held[u]
        if u in guarded:
            results[-1]["general_loss_before"] = before_general[u]
            results[-1]["general_loss_after"] = best_general[u]
    # train loss after, with each user's kept (best) adapter
    for u in range(n):
        adapter.load_user_state(u, best_state[u])
    after_train = eval_users(model, adapter, data, "train_sample", settings, bos, device)
    for u, r in enumerate(results):
        if not math.isfinite(after_train[u]):
            raise TrainingDiverged(f"user {r['id']}: non-finite train loss with the kept adapter")
        r["train_loss_after"] = after_train[u]
    return {"version": CONTRACT_VERSION, "users": results, "steps_run": step, "seconds": round(time.time() - t0, 2),
            "device": device, "history": history}
