"""A Llama decoder in one file: RMSNorm, rotary positions, SwiGLU, grouped KV heads, a KV cache, LoRA.

Parameter names are Hugging Face's (`model.layers.{i}.self_attn.q_proj.weight`, ...) so `config.json` +
`model.safetensors` load in `transformers.LlamaForCausalLM`, and the maths follows it (rotate-half rotary,
keys cached after rotation, tied input/output embeddings).

Imported bases (hf_import.py) add what their families vary: q/k/v biases (Qwen2), an untied head, an explicit
head dim, scaled rotary frequencies.

Shapes: B batch, T new tokens, P cached tokens, S = P + T, H heads, K kv heads, D head dim, C model dim.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .lora import LoraLinear

# {"model.layers.0.self_attn.q_proj": (A, B)}: per-call LoRA tensors, see lora.py
LoraFeed = dict[str, tuple[torch.Tensor, torch.Tensor]]
KVCache = list[tuple[torch.Tensor, torch.Tensor]]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_frequencies(head_dim: int, theta: float, rope: tuple = ("default",)) -> torch.Tensor:
    """Rotary inverse frequencies as transformers computes them: default, `linear` (positions divided by the
    factor) and `llama3` (long wavelengths divided by the factor, short ones kept, a smooth blend between)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if rope[0] == "linear":
        return inv_freq / rope[1]
    if rope[0] == "llama3":
        factor, low, high, original = rope[1:]
        low_wavelen, high_wavelen = original / low, original / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (original / wavelen - low) / (high - low)
        blended = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, blended, scaled)
    return inv_freq


class Rotary(nn.Module):
    def __init__(self, head_dim: int, theta: float, rope: tuple = ("default",)):
        super().__init__()
        self.register_buffer("inv_freq", rope_frequencies(head_dim, theta, rope), persistent=False)

    def forward(self, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = position_ids.to(torch.float32)[:, :, None] * self.inv_freq[None, None, :]  # [B, T, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)  # [B, T, D]
        return emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.n_heads, self.n_kv, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.q_proj = LoraLinear(cfg.dim, cfg.n_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.k_proj = LoraLinear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.v_proj = LoraLinear(cfg.dim, cfg.n_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.o_proj = LoraLinear(cfg.n_heads * cfg.head_dim, cfg.dim, bias=cfg.o_bias)

    def forward(self, x, cos, sin, mask, past, lora: LoraFeed):
        b, t, _ = x.shape
        p = self.prefix
        q = self.q_proj(x, lora.get(p + "q_proj")).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x, lora.get(p + "k_proj")).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x, lora.get(p + "v_proj")).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin  # [B, H, T, D]
        k = k * cos + rotate_half(k) * sin  # [B, K, T, D]
        if past is not None:
            k = torch.cat((past[0], k), dim=2)  # [B, K, S, D]
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        rep = self.n_heads // self.n_kv
        if rep > 1:  # expand + flatten, not repeat_interleave: it exports cleanly to ONNX
            k = k[:, :, None].expand(-1, -1, rep, -1, -1).flatten(1, 2)
            v = v[:, :, None].expand(-1, -1, rep, -1, -1).flatten(1, 2)
        if mask is None and hasattr(F, "scaled_dot_product_attention"):  # training fast path (torch 2)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) * (self.head_dim ** -0.5)  # [B, H, T, S]
            if mask is None:
                mask = causal_mask(torch.ones(b, t, dtype=torch.long, device=x.device), t)
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            out = torch.matmul(torch.softmax(scores, dim=-1), v)  # [B, H, T, D]
        out = out.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim)
        return self.o_proj(out, lora.get(p + "o_proj")), present


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.gate_proj = LoraLinear(cfg.dim, cfg.ffn_dim)
        self.up_proj = LoraLinear(cfg.dim, cfg.ffn_dim)
        self.down_proj = LoraLinear(cfg.ffn_dim, cfg.dim)

    def forward(self, x, lora: LoraFeed):
        p = self.prefix
        h = F.silu(self.gate_proj(x, lora.get(p + "gate_proj"))) * self.up_proj(x, lora.get(p + "up_proj"))
        return self.down_proj(h, lora.get(p + "down_proj"))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, i: int):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.self_attn = Attention(cfg, f"model.layers.{i}.self_attn.")
        self.post_attention_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.mlp = MLP(cfg, f"model.layers.{i}.mlp.")

    def forward(self, x, cos, sin, mask, past, lora: LoraFeed):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past, lora)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x), lora), present


class LlamaModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.dim)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.rotary = Rotary(cfg.head_dim, cfg.rope_theta, cfg.rope)


def causal_mask(attention_mask: torch.Tensor, t: int) -> torch.Tensor:
    """[B, 1, T, S] boolean: query i (the last T of S positions) sees key j when j <= i and j is not padding.

    Positions come from a cumulative sum rather than `arange(shape)` so the ONNX graph stays shape-generic.
    """
    key_pos = torch.cumsum(torch.ones_like(attention_mask), dim=1)  # [B, S], 1-based
    query_pos = key_pos[:, -t:]  # [B, T]
    allowed = key_pos[:, None, :] <= query_pos[:, :, None]  # [B, T, S]
    return (allowed & attention_mask[:, None, :].bool())[:, None]


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        # An untied head (most imported bases); tied ones multiply by the input embedding.
        self.lm_head = None if cfg.tie_embeddings else nn.Linear(cfg.dim, cfg.vocab_size, bias=False)

    def forward(
        self,
        input_ids: torch.Tensor,  # [B, T]
        attention_mask: torch.Tensor | None = None,  # [B, S]; None = no padding, causal only
        position_ids: torch.Tensor | None = None,  # [B, T]
        past: KVCache | None = None,  # per layer (key, value), each [B, K, P, D]
        lora: LoraFeed | None = None,
        logits_at: torch.Tensor | None = None,  # [B, T] bool: only these positions' logits, as [N, V]
        logits_keep: torch.Tensor | None = None,  # [1] int64: the last k positions' logits only; 0 = all
    ) -> tuple[torch.Tensor, KVCache]:
        b, t = input_ids.shape
        lora = lora or {}
        if position_ids is None:
            start = 0 if past is None else past[0][0].shape[2]
            position_ids = torch.arange(start, start + t, device=input_ids.device)[None].expand(b, -1)
        mask = None
        if attention_mask is not None or past is not None:
            if attention_mask is None:
                attention_mask = torch.ones(b, past[0][0].shape[2] + t, dtype=torch.long, device=input_ids.device)
            mask = causal_mask(attention_mask, t)
        cos, sin = self.model.rotary(position_ids)
        x = self.model.embed_tokens(input_ids)
        presents: KVCache = []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, cos, sin, mask, None if past is None else past[i], lora)
            presents.append(present)
        x = self.model.norm(x)
        if logits_at is not None:  # training and scoring: the vocabulary projection only where a loss is taken
            x = x[logits_at]
        if logits_keep is not None:  # the graph's prefill for generation: the head on the last position only
            t = x.shape[1]
            start = (t - logits_keep).clamp(min=0) * (logits_keep > 0).long()
            x = x[:, start[0] :]
        head = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        logits = torch.matmul(x, head.t())  # [B, T, V] (or [N, V])
        return logits, presents

    def lora_linears(self) -> dict[str, LoraLinear]:
        """HF module path → LoraLinear, for the configured targets, in graph-input order."""
        named = dict(self.named_modules())
        return {path: named[path] for path in self.cfg.lora_modules()}  # type: ignore[misc]

    def base_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if "lora_" not in k}

    def num_params(self) -> int:
        return sum(v.numel() for v in self.base_state_dict().values())


def nll_per_token(logits: torch.Tensor, targets: torch.Tensor, ignore: torch.Tensor | None = None) -> torch.Tensor:
    """Negative log-likelihood of each target token, [B, T]; positions where `ignore` is true get 0.
    (Flattened to [B·T, V]: cross_entropy over a transposed [B, V, T] is several times slower on CPU.)"""
    v = logits.shape[-1]
    nll = F.cross_entropy(logits.float().reshape(-1, v), targets.reshape(-1), reduction="none").view(targets.shape)
    return nll if ignore is None else nll.masked_fill(ignore, 0.0)
