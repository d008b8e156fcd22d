"""`export-onnx`: the decoder graph the edge runs (shared/design.md, "Base model package").

Inputs: `input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key|value`, then for every LoRA
target a required pair `{module}.lora_A.weight [N, r, in]`, `{module}.lora_B.weight [N, out, r]` with its own
dynamic rank axis (rank 0 = no adapter; the scaling lora_alpha / r is baked into B by the caller). N is the
batch size, one pair per row, each row its own user's adapter (a smaller rank zero-padded), or 1: one pair
applied to every row. Outputs: `logits`,
`present.{i}.key|value`. The names are transformers.js's, so the base-only graph runs there unchanged.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch import nn

from .config import ModelConfig
from .model import LlamaForCausalLM
from .pretrain import load_model


class DecoderGraph(nn.Module):
    """Flat positional inputs/outputs around the model, as torch.onnx.export wants them."""

    def __init__(self, model: LlamaForCausalLM, with_lora: bool):
        super().__init__()
        self.model = model
        self.with_lora = with_lora
        self.modules_in_order = model.cfg.lora_modules() if with_lora else []

    def forward(self, input_ids, attention_mask, position_ids, *rest):
        n = self.model.cfg.n_layers
        past = [(rest[2 * i], rest[2 * i + 1]) for i in range(n)]
        flat = rest[2 * n :]
        lora = {m: (flat[2 * j], flat[2 * j + 1]) for j, m in enumerate(self.modules_in_order)}
        logits, presents = self.model(input_ids, attention_mask, position_ids, past, lora)
        return (logits, *[t for kv in presents for t in kv])


def graph_io(cfg: ModelConfig, with_lora: bool) -> tuple[list[str], list[str], dict]:
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(cfg.n_layers):
        for kind in ("key", "value"):
            inputs.append(f"past_key_values.{i}.{kind}")
            outputs.append(f"present.{i}.{kind}")
            axes[inputs[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            axes[outputs[-1]] = {0: "batch_size", 2: "total_sequence_length"}
    if with_lora:
        for j, m in enumerate(cfg.lora_modules()):
            inputs += [f"{m}.lora_A.weight", f"{m}.lora_B.weight"]
            axes[f"{m}.lora_A.weight"] = {0: "lora_batch", 1: f"rank_{j}"}
            axes[f"{m}.lora_B.weight"] = {0: "lora_batch", 2: f"rank_{j}"}
    return inputs, outputs, axes


def example_inputs(cfg: ModelConfig, with_lora: bool, past_len: int = 3, t: int = 2, rank: int = 2):
    """Non-degenerate sizes for tracing, so no axis gets specialised to 0 or 1."""
    b = 2
    ids = torch.randint(0, cfg.vocab_size, (b, t))
    mask = torch.ones(b, past_len + t, dtype=torch.long)
    pos = torch.arange(past_len, past_len + t)[None].expand(b, -1).contiguous()
    past = []
    for _ in range(cfg.n_layers):
        past += [torch.randn(b, cfg.n_kv_heads, past_len, cfg.head_dim) for _ in range(2)]
    lora = []
    if with_lora:
        for m in cfg.lora_modules():
            fin, fout = cfg.target_shape(m.rsplit(".", 1)[1])
            lora += [torch.randn(b, rank, fin) * 0.01, torch.randn(b, fout, rank) * 0.01]
    return (ids, mask, pos, *past, *lora)


def export(model: LlamaForCausalLM, out: str | Path, with_lora: bool, opset: int = 17) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    graph = DecoderGraph(model.cpu().eval(), with_lora)
    inputs, outputs, axes = graph_io(cfg, with_lora)
    with torch.no_grad():
        torch.onnx.export(graph, example_inputs(cfg, with_lora), str(out), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    return out


def export_lora_graph(model_dir: str, out: str | None, opset: int = 17) -> Path:
    path = export(load_model(model_dir), out or Path(model_dir) / "model.onnx", with_lora=True, opset=opset)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return path


def export_base_only(model_dir: str, out_dir: str, opset: int = 17) -> Path:
    """The folder layout transformers.js reads: config.json, tokenizer files, onnx/model.onnx."""
    src, dst = Path(model_dir), Path(out_dir)
    path = export(load_model(model_dir), dst / "onnx" / "model.onnx", with_lora=False, opset=opset)
    config = json.loads((src / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(src / name, dst / name)
    generation = {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"],
                  "pad_token_id": config["pad_token_id"]}
    (dst / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    print(f"wrote {dst} (base-only graph {path.stat().st_size / 1e6:.1f} MB)")
    return path
