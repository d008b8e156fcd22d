"""The adapters a training job runs its rows through, all with one interface (`inputs`: the model's keyword
inputs for rows of given users): every user's LoRA pairs or prefix stacked on a leading user axis (trained),
one adapter read from disk for every row (the baseline a new version must beat), or none (the base model).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from . import safetensors_io
from .config import LoraConfig, PrefixConfig
from .errors import JobError
from .model import LlamaForCausalLM
from .prefix import PROMPT_EMBEDDINGS, from_text, prefixed, to_embeddings, to_kv

PEFT_PREFIX = "base_model.model."


def clip_per_user(params: list[torch.nn.Parameter], max_norm: float) -> None:
    """Clips each user's gradient (slice u of every parameter's leading axis) to max_norm on its own."""
    sq = None
    for p in params:
        if p.grad is not None:
            n = p.grad.pow(2).flatten(1).sum(1)
            sq = n if sq is None else sq + n
    if sq is None:
        return
    factor = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(factor.view(-1, *([1] * (p.grad.dim() - 1))))


class NoAdapter:
    """The base model alone: what the "before" losses are measured on."""

    def inputs(self, rows_user: torch.Tensor, attention: torch.Tensor, groups: list[int] | None = None) -> dict:
        return {"attention_mask": attention}


class StackedLora:
    """Every user's adapter for every target, stacked on a leading user axis."""

    def __init__(self, model: LlamaForCausalLM, cfg: LoraConfig, n_users: int, seed: int, device: str):
        self.cfg = cfg
        self.n_users = n_users
        self.modules = [m for m in model.cfg.lora_modules() if m.rsplit(".", 1)[1] in cfg.targets]
        lins = model.lora_linears()
        self.A: dict[str, torch.nn.Parameter] = {}
        self.B: dict[str, torch.nn.Parameter] = {}
        for j, m in enumerate(self.modules):
            fin, fout = lins[m].in_features, lins[m].out_features
            a = torch.empty(n_users, cfg.r, fin)
            bound = 1.0 / math.sqrt(fin)
            for u in range(n_users):  # per user and module seeded: the same init whatever the batch holds
                g = torch.Generator().manual_seed(seed * 1_000_003 + j)
                a[u].uniform_(-bound, bound, generator=g)
            self.A[m] = torch.nn.Parameter(a.to(device))
            self.B[m] = torch.nn.Parameter(torch.zeros(n_users, fout, cfg.r, device=device))

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for m in self.modules for p in (self.A[m], self.B[m])]

    def feed(self, rows_user: torch.Tensor | None, groups: torch.Tensor | None = None
             ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-row pairs for `rows_user`; None = per-group pairs for rows grouped by user (n rows each): the
        whole stack, or the users in `groups` (those still training)."""
        s = self.cfg.scaling
        if rows_user is None:
            if groups is None:
                return {m: (self.A[m], self.B[m] * s) for m in self.modules}
            return {m: (self.A[m][groups], self.B[m][groups] * s) for m in self.modules}
        return {m: (self.A[m][rows_user], self.B[m][rows_user] * s) for m in self.modules}

    def inputs(self, rows_user: torch.Tensor, attention: torch.Tensor, groups: list[int] | None = None) -> dict:
        """The model's keyword inputs for rows of these users; `groups`: the rows are these users' in this order,
        the same number each (the training batches), so each group's rows share one adapter pair."""
        if groups is None:
            feed = self.feed(rows_user)
        elif len(groups) == self.n_users:
            feed = self.feed(None)
        else:
            feed = self.feed(None, torch.tensor(groups, device=rows_user.device))
        return {"attention_mask": attention, "lora": feed}

    def user_state(self, u: int) -> dict[str, torch.Tensor]:
        """PEFT's key names and layout for one user's adapter."""
        out = {}
        for m in self.modules:
            out[f"{PEFT_PREFIX}{m}.lora_A.weight"] = self.A[m][u].detach().cpu().clone()
            out[f"{PEFT_PREFIX}{m}.lora_B.weight"] = self.B[m][u].detach().cpu().clone()
        return out

    def load_user_state(self, u: int, state: dict[str, torch.Tensor]) -> None:
        for m in self.modules:
            self.A[m].data[u] = state[f"{PEFT_PREFIX}{m}.lora_A.weight"].to(self.A[m].device)
            self.B[m].data[u] = state[f"{PEFT_PREFIX}{m}.lora_B.weight"].to(self.B[m].device)

    def peft_config(self, base_model: str) -> dict:
        return self.cfg.to_peft(base_model)

    def clip_per_user(self, max_norm: float) -> None:
        clip_per_user(self.parameters(), max_norm)


class StackedPrefix:
    """Every user's prefix, keys and values [U, L, K, P, D] on a leading user axis; each row attends to its own
    user's (gathered per row: P is small). Initialised from each user's first training row (prefix.from_text)."""

    def __init__(self, model: LlamaForCausalLM, cfg: PrefixConfig, first_rows: list[list[int]]):
        self.cfg = cfg
        self.model_cfg = model.cfg
        kv = from_text(model, first_rows, cfg.num_virtual_tokens)  # per layer [U, K, P, D]
        self.key = torch.nn.Parameter(torch.stack([k for k, _ in kv], dim=1))
        self.value = torch.nn.Parameter(torch.stack([v for _, v in kv], dim=1))

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.key, self.value]

    def inputs(self, rows_user: torch.Tensor, attention: torch.Tensor, groups: list[int] | None = None) -> dict:
        # gathered per row whether or not the rows come in groups: the prefix is small next to the rows' own keys
        key, value = self.key[rows_user], self.value[rows_user]  # [rows, L, K, P, D]
        return prefixed([(key[:, i], value[:, i]) for i in range(key.shape[1])], attention)

    def user_state(self, u: int) -> dict[str, torch.Tensor]:
        """PEFT's tensor name and layout for one user's prefix."""
        kv = [(self.key[u, i], self.value[u, i]) for i in range(self.key.shape[1])]
        return {PROMPT_EMBEDDINGS: to_embeddings(kv).detach().cpu().clone()}

    def load_user_state(self, u: int, state: dict[str, torch.Tensor]) -> None:
        for i, (k, v) in enumerate(to_kv(state[PROMPT_EMBEDDINGS], self.model_cfg)):
            self.key.data[u, i] = k.to(self.key.device)
            self.value.data[u, i] = v.to(self.value.device)

    def peft_config(self, base_model: str) -> dict:
        return self.cfg.to_peft(base_model, self.model_cfg)

    def clip_per_user(self, max_norm: float) -> None:
        clip_per_user(self.parameters(), max_norm)


def load_baseline(model: LlamaForCausalLM, path: str, device: str):
    """The user's active adapter, LoRA or prefix whatever the job trains (adapter_config.json's peft_type)."""
    try:
        cfg = json.loads((Path(path) / "adapter_config.json").read_text())
        prefix = cfg.get("peft_type") == "PREFIX_TUNING"
    except (OSError, ValueError, AttributeError) as err:
        raise JobError(f"baseline adapter {path}: {err}") from None
    return FixedPrefix(model, path, cfg, device) if prefix else FixedLora(model, path, cfg, device)


class FixedLora:
    """One PEFT adapter read from disk and applied to every row: the baseline a new version must beat.
    Its rank and targets may differ from the job's."""

    def __init__(self, model: LlamaForCausalLM, path: str, cfg: dict, device: str):
        try:
            tensors, _ = safetensors_io.load(Path(path) / "adapter_model.safetensors")
            r, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise JobError(f"baseline adapter {path}: {err}") from None
        if r < 1:
            raise JobError(f"baseline adapter {path}: r must be positive")
        self.pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for m, lin in model.lora_linears().items():
            a = tensors.pop(f"{PEFT_PREFIX}{m}.lora_A.weight", None)
            b = tensors.pop(f"{PEFT_PREFIX}{m}.lora_B.weight", None)
            if a is None and b is None:
                continue
            if a is None or b is None or tuple(a.shape) != (r, lin.in_features) \
                    or tuple(b.shape) != (lin.out_features, r):
                raise JobError(f"baseline adapter {path}: {m} has a missing or misshapen lora_A/lora_B pair")
            self.pairs[m] = (a.float().to(device)[None], (b.float() * (alpha / r)).to(device)[None])
        if tensors:
            raise JobError(f"baseline adapter {path}: unexpected tensors {sorted(tensors)[:3]}")

    def inputs(self, rows_user: torch.Tensor, attention: torch.Tensor, groups: list[int] | None = None) -> dict:
        n = rows_user.shape[0]
        return {"attention_mask": attention,
                "lora": {m: (a.expand(n, -1, -1), b.expand(n, -1, -1)) for m, (a, b) in self.pairs.items()}}


class FixedPrefix:
    """One PEFT prefix-tuning adapter read from disk and put in front of every row (a baseline, as FixedLora).
    Its number of virtual tokens may differ from the job's."""

    def __init__(self, model: LlamaForCausalLM, path: str, cfg: dict, device: str):
        try:
            pcfg = PrefixConfig.from_peft(cfg)
            expected = pcfg.to_peft("", model.cfg)
            wrong = [k for k in ("token_dim", "num_attention_heads", "num_layers", "num_transformer_submodules")
                     if cfg.get(k) != expected[k]]
            if wrong:
                raise ValueError(f"{wrong[0]} is {cfg.get(wrong[0])!r}, this model needs {expected[wrong[0]]!r}")
            tensors, _ = safetensors_io.load(Path(path) / "adapter_model.safetensors")
            if set(tensors) != {PROMPT_EMBEDDINGS}:
                raise ValueError(f"expected one tensor {PROMPT_EMBEDDINGS}, found {sorted(tensors)[:3]}")
            embeddings = tensors[PROMPT_EMBEDDINGS].float()
            if embeddings.shape[0] != pcfg.num_virtual_tokens:
                raise ValueError(f"{PROMPT_EMBEDDINGS} has {embeddings.shape[0]} rows, "
                                 f"num_virtual_tokens is {pcfg.num_virtual_tokens}")
            self.kv = [(k.to(device)[None], v.to(device)[None]) for k, v in to_kv(embeddings, model.cfg)]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise JobError(f"baseline adapter {path}: {err}") from None

    def inputs(self, rows_user: torch.Tensor, attention: torch.Tensor, groups: list[int] | None = None) -> dict:
        n = rows_user.shape[0]
        return prefixed([(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in self.kv], attention)
