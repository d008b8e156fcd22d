"""`export-onnx`: the decoder graph the edge runs (shared/design.md, "Base model package").

Inputs: `input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key|value`, then for every LoRA
target a required pair `{module}.lora_A.weight [N, r, in]`, `{module}.lora_B.weight [N, out, r]` with its own
dynamic rank axis (rank 0 = no adapter; the scaling lora_alpha / r is baked into B by the caller). N is the
batch size, one pair per row, each row its own user's adapter (a smaller rank zero-padded), or 1: one pair
applied to every row. Outputs: `logits`,
`present.{i}.key|value`. The names are transformers.js's, so the base-only graph runs there unchanged.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import ModelConfig
from .model import Attention, LlamaForCausalLM
from .pretrain import load_model


def _grouped_attention(self, x, cos, sin, mask, past, lora):
    """Attention.forward as the graph computes it: the same function with fewer nodes per step. Heads are split
    and merged by reshapes of a tensor's own leading dimensions (which `_static_reshapes` turns constant), the
    rotary half is a constant, and each query head group attends to its own key/value head by broadcasting
    instead of copying K and V to every query head (grouped-query attention without the Expand)."""
    p = self.prefix
    h, kv, d = self.n_heads, self.n_kv, self.head_dim
    half = d // 2
    def heads(y: torch.Tensor, n: int) -> torch.Tensor:  # [B, T, n·D] → [B, n, T, D]
        return y.reshape(y.shape[0], y.shape[1], n, d).transpose(1, 2)

    q = heads(self.q_proj(x, lora.get(p + "q_proj")), h)
    k = heads(self.k_proj(x, lora.get(p + "k_proj")), kv)
    v = heads(self.v_proj(x, lora.get(p + "v_proj")), kv)
    q = q * cos + torch.cat((-q[..., half:], q[..., :half]), dim=-1) * sin
    k = k * cos + torch.cat((-k[..., half:], k[..., :half]), dim=-1) * sin
    if past is not None:
        k = torch.cat((past[0], k), dim=2)  # [B, K, S, D]
        v = torch.cat((past[1], v), dim=2)
    present = (k, v)
    q = q.reshape(q.shape[0], kv, h // kv, q.shape[2], d)  # [B, K, rep, T, D]: head i·rep + j reads K/V head i
    scores = torch.matmul(q, k.unsqueeze(2).transpose(3, 4)) * (d ** -0.5)  # [B, K, rep, T, S]
    scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
    out = torch.matmul(torch.softmax(scores, dim=-1), v.unsqueeze(2))  # [B, K, rep, T, D]
    out = out.permute(0, 3, 1, 2, 4)
    out = out.reshape(out.shape[0], out.shape[1], h * d)  # [B, T, H·D]
    return self.o_proj(out, lora.get(p + "o_proj")), present


@contextlib.contextmanager
def _export_attention():
    """Attention.forward swapped for `_grouped_attention` while tracing (module scopes, hence node names, stay)."""
    original = Attention.forward
    Attention.forward = _grouped_attention
    try:
        yield
    finally:
        Attention.forward = original


def _static_reshapes(path: Path) -> int:
    """Reshapes whose target shape the export computes at run time from the input's own shape (Shape → Slice →
    Concat with constants) get that shape as a constant instead, 0 meaning "this input dimension", and the shape
    arithmetic no longer needed is dropped. Returns how many reshapes became static."""
    import onnx  # the export's own dependency (python3-onnx), not the trainer's
    from onnx import numpy_helper, shape_inference

    model = onnx.load(str(path))
    g = model.graph
    inferred = shape_inference.infer_shapes(model).graph
    rank = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in list(inferred.value_info) + list(inferred.input)
            if vi.type.tensor_type.HasField("shape")}
    prod = {o: n for n in g.node for o in n.output}
    inits = {i.name: i for i in g.initializer}

    def constant(name: str):
        if name in inits:
            return numpy_helper.to_array(inits[name])
        n = prod.get(name)
        if n is not None and n.op_type == "Constant":
            return numpy_helper.to_array(next(a.t for a in n.attribute if a.name == "value"))
        return None

    changed = 0
    for n in g.node:
        if n.op_type != "Reshape":
            continue
        cat = prod.get(n.input[1])
        if cat is None or cat.op_type != "Concat":
            continue
        target: list[int] = []
        for part in cat.input:
            c = constant(part)
            if c is not None:
                target += [int(x) for x in np.atleast_1d(c)]
                continue
            un = prod.get(part)
            gather = prod.get(un.input[0]) if un is not None and un.op_type == "Unsqueeze" else None
            if gather is not None and gather.op_type == "Gather":
                shp, idx = prod.get(gather.input[0]), constant(gather.input[1])
                if shp is None or shp.op_type != "Shape" or shp.input[0] != n.input[0] or idx is None:
                    target = []
                    break
                # the input's own dimension: 0 ("keep it") in place, else the one dimension left to infer
                target.append(0 if int(idx) == len(target) else -1)
                continue
            sl = prod.get(part)
            shp = prod.get(sl.input[0]) if sl is not None and sl.op_type == "Slice" else None
            starts = constant(sl.input[1]) if shp is not None else None
            ends = constant(sl.input[2]) if shp is not None else None
            if shp is None or shp.op_type != "Shape" or shp.input[0] != n.input[0] or starts is None or ends is None:
                target = []
                break
            start, end = int(np.atleast_1d(starts)[0]), int(np.atleast_1d(ends)[0])
            if (end < 0 or end > 64) and n.input[0] not in rank:
                target = []
                break
            if end < 0:
                end += rank[n.input[0]]
            end = min(end, rank.get(n.input[0], end))
            if start != len(target) or len(sl.input) > 3:  # a prefix of the input's own dimensions, in place
                target = []
                break
            target += [0] * (end - start)
        if not target or target.count(-1) > 1:
            continue
        name = f"{n.name}/static_shape"
        g.initializer.append(numpy_helper.from_array(np.array(target, dtype=np.int64), name))
        n.input[1] = name
        changed += 1
    needed = {o.name for o in g.output}
    kept = []
    for n in reversed(g.node):  # nodes are in topological order: walk back from the outputs
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(n.input)
    del g.node[:]
    g.node.extend(reversed(kept))
    used = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(used)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return changed


def _share_tied_head(path: Path) -> bool:
    """A tied head stored once: the exporter writes the embedding for the Gather and its transpose again for the
    logits' MatMul (the vocabulary × width twice: 113 MB more on a 135 M base). The MatMul becomes a Gemm over the
    embedding itself with transB, between reshapes to two dimensions and back. Returns whether it did."""
    import onnx  # noqa: PLC0415
    from onnx import helper, numpy_helper  # noqa: PLC0415

    model = onnx.load(str(path))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    gather = next((n for n in g.node if n.op_type == "Gather" and n.input[0] in inits), None)
    head = next((n for n in g.node if n.op_type == "MatMul" and n.output[0] == "logits" and n.input[1] in inits), None)
    if gather is None or head is None:
        return False
    embedding = numpy_helper.to_array(inits[gather.input[0]])
    transposed = numpy_helper.to_array(inits[head.input[1]])
    if transposed.shape != embedding.T.shape or not np.array_equal(transposed, embedding.T):
        return False  # an untied head: its own weights
    x, w = head.input[0], gather.input[0]
    p = "/tied_head"
    consts = [
        numpy_helper.from_array(np.array([-1, embedding.shape[1]], dtype=np.int64), f"{p}/flat_shape"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), f"{p}/zero"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{p}/minus_one"),
        numpy_helper.from_array(np.array([embedding.shape[0]], dtype=np.int64), f"{p}/vocab"),
    ]
    nodes = [
        helper.make_node("Reshape", [x, f"{p}/flat_shape"], [f"{p}/flat"], name=f"{p}/Reshape"),
        helper.make_node("Gemm", [f"{p}/flat", w], [f"{p}/logits_flat"], name=f"{p}/Gemm", transB=1),
        helper.make_node("Shape", [x], [f"{p}/shape"], name=f"{p}/Shape"),
        helper.make_node("Slice", [f"{p}/shape", f"{p}/zero", f"{p}/minus_one"], [f"{p}/lead"], name=f"{p}/Slice"),
        helper.make_node("Concat", [f"{p}/lead", f"{p}/vocab"], [f"{p}/out_shape"], name=f"{p}/Concat", axis=0),
        helper.make_node("Reshape", [f"{p}/logits_flat", f"{p}/out_shape"], ["logits"], name=f"{p}/Unflatten"),
    ]
    at = list(g.node).index(head)
    g.node.remove(head)
    for k, n in enumerate(nodes):
        g.node.insert(at + k, n)
    g.initializer.remove(inits[head.input[1]])
    g.initializer.extend(consts)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True


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
        keep = flat[2 * len(self.modules_in_order)] if keeps_logits(self.model.cfg) else None
        logits, presents = self.model(input_ids, attention_mask, position_ids, past, lora, logits_keep=keep)
        return (logits, *[t for kv in presents for t in kv])


def keeps_logits(cfg: ModelConfig) -> bool:
    """Imported bases' graphs take `logits_keep` ([1] int64: the last k positions' logits; 0 = every position),
    so a prefill for generation projects one position onto the vocabulary, not all (a 49 k vocabulary: 98 MB of
    logits and a tenth of the prefill's work for 500 tokens). The shipped graph gains it when it is re-exported."""
    return cfg.source is not None


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
    if keeps_logits(cfg):
        inputs.append("logits_keep")
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
    keep = [torch.tensor([0], dtype=torch.long)] if keeps_logits(cfg) else []
    return (ids, mask, pos, *past, *lora, *keep)


def export(model: LlamaForCausalLM, out: str | Path, with_lora: bool, opset: int = 17) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    graph = DecoderGraph(model.cpu().eval(), with_lora)
    inputs, outputs, axes = graph_io(cfg, with_lora)
    # The TorchScript exporter, which `_static_reshapes` knows the output of (torch 2.x defaults to dynamo)
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad(), _export_attention(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.x's deprecation notice for that exporter, every export
        torch.onnx.export(graph, example_inputs(cfg, with_lora), str(out), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True, **legacy)
    _static_reshapes(out)
    if cfg.tie_embeddings and cfg.source is not None:  # imported bases; the shipped graph is re-exported with it later
        _share_tied_head(out)
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
    if (src / "generation_config.json").exists():  # an imported base's own (eos lists, no BOS, no pad)
        shutil.copyfile(src / "generation_config.json", dst / "generation_config.json")
    else:
        generation = {k: config.get(k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
        (dst / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    print(f"wrote {dst} (base-only graph {path.stat().st_size / 1e6:.1f} MB)")
    return path
