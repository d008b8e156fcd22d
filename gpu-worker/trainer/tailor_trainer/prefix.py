"""Prefix tuning (Li & Liang 2021): per layer, learned keys and values of P virtual tokens in front of the text.

A prefix is the first P positions of the KV cache: per layer `key`, `value` [K, P, D], keys used as stored (the
cache holds keys after rotary, so none is applied to them). The real tokens then take positions P, P+1, ... (as
Hugging Face + PEFT do: the cache already holds P positions) and see the prefix through P ones in front of their
attention mask. The prefix passes through no projection, so a LoRA underneath composes exactly.

On disk (PEFT, no `prefix_projection`): one tensor `prompt_embeddings` [P, L·2·K·D]. PEFT's `get_prompt` views it
as [P, 2L, K, D]: index 2i is layer i's key, 2i + 1 its value, each permuted to [K, P, D].
"""
from __future__ import annotations

import torch

from .config import ModelConfig
from .model import KVCache, LlamaForCausalLM

PROMPT_EMBEDDINGS = "prompt_embeddings"  # PEFT's tensor name in adapter_model.safetensors


def to_kv(embeddings: torch.Tensor, cfg: ModelConfig) -> KVCache:
    """`prompt_embeddings` [P, L·2·K·D] → per layer (key, value), each [K, P, D] (views of `embeddings`)."""
    n_layers, k, d = cfg.n_layers, cfg.n_kv_heads, cfg.head_dim
    if embeddings.dim() != 2 or embeddings.shape[1] != n_layers * 2 * k * d:
        raise ValueError(f"{PROMPT_EMBEDDINGS} has shape {list(embeddings.shape)}, "
                         f"expected [P, {n_layers * 2 * k * d}]")
    kv = embeddings.view(embeddings.shape[0], 2 * n_layers, k, d).permute(1, 2, 0, 3)  # [2L, K, P, D]
    return [(kv[2 * i], kv[2 * i + 1]) for i in range(n_layers)]


def to_embeddings(kv: KVCache) -> torch.Tensor:
    """Per layer (key, value), each [K, P, D] → `prompt_embeddings` [P, L·2·K·D], contiguous (to_kv's inverse)."""
    stacked = torch.stack([t for pair in kv for t in pair])  # [2L, K, P, D]
    return stacked.permute(2, 0, 1, 3).reshape(stacked.shape[2], -1)


def prefixed(past: KVCache, attention_mask: torch.Tensor) -> dict:
    """The model's keyword inputs for rows [B, T] behind a prefix (`past` per layer [B, K, P, D]): P ones in front
    of the attention mask, positions from P (right padding keeps every row's tokens at P, P+1, ...)."""
    b, t = attention_mask.shape
    p = past[0][0].shape[2]
    return {"attention_mask": torch.cat((attention_mask.new_ones(b, p), attention_mask), dim=1),
            "position_ids": p + torch.arange(t, device=attention_mask.device)[None].expand(b, -1),
            "past": past}


@torch.no_grad()
def from_text(model: LlamaForCausalLM, rows: list[list[int]], p: int) -> KVCache:
    """Prefixes initialised from real activations (Li & Liang 2021): the base model's own keys (after rotary)
    and values of each row's first p tokens at positions 0..p-1, a row shorter than p repeated. Per layer
    (key, value), each [len(rows), K, P, D]."""
    ids = torch.tensor([(row * -(-p // len(row)))[:p] for row in rows], device=model.model.norm.weight.device)
    _, present = model(ids)
    return present
