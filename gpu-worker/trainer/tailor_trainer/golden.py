"""`dump-golden`: reference logits from the PyTorch model, which the TS parity test reproduces with the ONNX graph
on onnxruntime-web (max abs diff ≤ 1e-4 in fp32).

One safetensors file; `__metadata__.cases` lists the cases. Per case `{name}.input_ids` [1, T] and
`{name}.logits` [1, T, V]; decode cases also hold `{name}.prompt_len` (the prompt is fed whole, then one token at
a time through the KV cache); adapter cases hold the graph inputs `{name}.lora.{module}.lora_A|B.weight`
exactly as the edge must feed them (scaling baked into B, ranks concatenated for compositions).
Prefix cases (`prefix`, `prefix_lora`, `prefix_decode`; `prefix_tokens` P in their metadata entry) hold
`{name}.prefix`, a random prefix's `prompt_embeddings` [P, L·2·K·D] exactly as stored in a PEFT file (see
prefix.py for its layout): its keys and values are the first P positions of the cache, the text takes positions
P, P+1, ... behind P attention-mask ones. Their logits come from one full pass with the prefix as the past; the
edge decodes `prefix_decode` token by token after its prompt.
"""
from __future__ import annotations

import copy
import json

import torch

from . import safetensors_io
from .model import LlamaForCausalLM
from .prefix import to_kv
from .pretrain import load_model

PROMPT = [0, 464, 1003, 318, 257, 1097, 290, 262, 2613, 3290, 3046, 2917]  # BOS + fixed ids


def random_adapter(model: LlamaForCausalLM, r: int, seed: int, alpha: float = 16.0):
    """A PEFT-style adapter with non-zero B, as {module: (A [r, in], B [out, r])} plus its scaling."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for m in model.cfg.lora_modules():
        lin = model.lora_linears()[m]
        a = torch.randn(r, lin.in_features, generator=g) / lin.in_features ** 0.5
        b = torch.randn(lin.out_features, r, generator=g) * 0.05
        out[m] = (a, b)
    return out, alpha / r


def random_prefix(model: LlamaForCausalLM, p: int, seed: int) -> torch.Tensor:
    """A prefix's `prompt_embeddings` [P, L·2·K·D], N(0, 0.5²): large enough to change the logits clearly."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    return torch.randn(p, cfg.n_layers * 2 * cfg.n_kv_heads * cfg.head_dim, generator=g) * 0.5


def merged(model: LlamaForCausalLM, adapters: list[tuple[dict, float]]) -> LlamaForCausalLM:
    """An independent reference: W' = W + Σ w·s·B·A folded into a copy of the base weights."""
    ref = copy.deepcopy(model)
    lins = ref.lora_linears()
    with torch.no_grad():
        for adapter, coeff in adapters:
            for m, (a, b) in adapter.items():
                lins[m].weight += coeff * (b @ a)
    return ref


@torch.no_grad()
def dump_golden(model_dir: str, out: str) -> None:
    model = load_model(model_dir)
    v = model.cfg.vocab_size
    ids = torch.tensor([[t % v for t in PROMPT]])
    tensors: dict[str, torch.Tensor] = {}
    cases = []

    def add(name: str, logits: torch.Tensor, feed: dict | None = None, extra: dict | None = None,
            prefix: torch.Tensor | None = None):
        tensors[f"{name}.input_ids"] = ids
        tensors[f"{name}.logits"] = logits.float().contiguous()
        for m, (a, b) in (feed or {}).items():
            tensors[f"{name}.lora.{m}.lora_A.weight"] = a.contiguous()
            tensors[f"{name}.lora.{m}.lora_B.weight"] = b.contiguous()
        if prefix is not None:
            tensors[f"{name}.prefix"] = prefix.contiguous()
            extra = {**(extra or {}), "prefix_tokens": prefix.shape[0]}
        cases.append({"name": name, "adapter": feed is not None, **(extra or {})})

    def as_past(prefix: torch.Tensor):
        """The stored tensor as the model's past: per layer (key, value) [1, K, P, D]."""
        return [(k[None], v[None]) for k, v in to_kv(prefix, model.cfg)]

    # 1. A full prompt, no adapter.
    logits, _ = model(ids)
    add("prompt", logits)

    # 2. Token-by-token decoding through the KV cache: the prompt's first 8 tokens whole, then one at a time.
    prompt_len = 8
    logits, past = model(ids[:, :prompt_len])
    steps = [logits]
    for t in range(prompt_len, ids.shape[1]):
        step, past = model(ids[:, t : t + 1], past=past)
        steps.append(step)
    add("decode", torch.cat(steps, dim=1), extra={"prompt_len": prompt_len})

    # 3. A random rank-8 adapter on every target, through PEFT-style parameters on the module.
    a1, s1 = random_adapter(model, 8, seed=1)
    with_params = copy.deepcopy(model)
    for m, lin in with_params.lora_linears().items():
        lin.lora_A = torch.nn.Parameter(a1[m][0].clone())
        lin.lora_B = torch.nn.Parameter(a1[m][1].clone())
        lin.scaling = s1
    logits, _ = with_params(ids)
    add("lora_r8", logits, {m: (a, b * s1) for m, (a, b) in a1.items()})

    # 4. Two adapters composed by rank concatenation ([A1; A2], [w1·s1·B1, w2·s2·B2]) against merged weights.
    a2, s2 = random_adapter(model, 4, seed=2, alpha=8.0)
    w1, w2 = 0.7, 1.3
    logits, _ = merged(model, [(a1, w1 * s1), (a2, w2 * s2)])(ids)
    feed = {m: (torch.cat([a1[m][0], a2[m][0]]), torch.cat([w1 * s1 * a1[m][1], w2 * s2 * a2[m][1]], dim=1))
            for m in a1}
    add("compose", logits, feed, {"weights": [w1, w2], "ranks": [8, 4]})

    # 5. The adapter, decoded token by token (KV cache and LoRA together).
    lora = {m: (a, b * s1) for m, (a, b) in a1.items()}
    logits, past = model(ids[:, :prompt_len], lora=lora)
    steps = [logits]
    for t in range(prompt_len, ids.shape[1]):
        step, past = model(ids[:, t : t + 1], past=past, lora=lora)
        steps.append(step)
    add("lora_decode", torch.cat(steps, dim=1), lora, {"prompt_len": prompt_len})

    # 6. A random prefix of 5 virtual tokens. Behind a past of P positions the model's defaults are the prefix
    # semantics: positions P..P+T-1, attention mask all ones over P + T.
    n_virtual = 5
    prefix = random_prefix(model, n_virtual, seed=3)
    logits, _ = model(ids, past=as_past(prefix))
    add("prefix", logits, prefix=prefix)

    # 7. A prefix over the rank-8 adapter (module parameters, as in 3): the two compose.
    prefix = random_prefix(model, n_virtual, seed=4)
    logits, _ = with_params(ids, past=as_past(prefix))
    add("prefix_lora", logits, lora, prefix=prefix)

    # 8. A prefix decoded token by token at the edge (the prompt's first 8 tokens whole after the prefix, then one
    # at a time); the reference is the full pass.
    prefix = random_prefix(model, n_virtual, seed=5)
    logits, _ = model(ids, past=as_past(prefix))
    add("prefix_decode", logits, extra={"prompt_len": prompt_len}, prefix=prefix)

    safetensors_io.save(tensors, out, {"cases": json.dumps(cases), "model": model_dir})
    print(f"wrote {out}: {', '.join(c['name'] for c in cases)}")
