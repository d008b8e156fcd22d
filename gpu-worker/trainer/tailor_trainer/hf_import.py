"""`import-hf`: a Hugging Face checkpoint directory (what `save_pretrained` writes) → a Tailor model package.

The directory is read, never executed: config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
and `model.safetensors` or shards named by `model.safetensors.index.json` (fp32, fp16 or bf16). The platform's
reader (core/model/hf-checkpoint.ts) has refused what is not supported before this runs; what this module
checks again is what only the weights can tell (every tensor present, each of its config's shape).

The package it writes is the shipped base's layout, so everything that serves or trains the shipped base serves
and trains it: config.json (the checkpoint's own, with Tailor's section), model.safetensors (fp32, Hugging Face
names), the tokenizer files, generation_config.json, and model.onnx, the decoder graph with a LoRA pair per row
on every target (export_onnx.py). Then it checks the graph against `transformers` on the same weights (max
|Δlogits| over a few positions; fp32: ≤ 1e-4) and measures bits per byte on a fixed sample of held-out text
per genre, which compares across tokenizers.

Progress goes to stderr (and stdout as JSON lines with --progress-json); the last stdout line is the result.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from . import safetensors_io
from .config import ModelConfig
from .errors import JobError
from .model import LlamaForCausalLM, nll_per_token
from .progress import Progress

PARITY_LIMIT = 1e-4
COPIED = ("tokenizer.json", "tokenizer_config.json", "generation_config.json")


def _stage(name: str, i: int, total: int, **fields) -> None:
    Progress(f"import: {name}", total, every_s=0).update(i, **fields)


def read_weights(src: Path) -> tuple[dict[str, torch.Tensor], str]:
    """Every tensor of the checkpoint as fp32, and the dtype it was stored in. Shards come from the index's
    weight map; a shard name is a plain file name in `src` (the platform checked it; checked again here)."""
    index = src / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    else:
        shards = ["model.safetensors"]
    tensors: dict[str, torch.Tensor] = {}
    dtypes: set[str] = set()
    for shard in shards:
        if Path(shard).name != shard or shard.startswith("."):
            raise JobError(f"shard name {shard!r} is not a file of the checkpoint directory")
        loaded, _ = safetensors_io.load(src / shard)
        for name, t in loaded.items():
            if name in tensors:
                raise JobError(f"tensor {name} is stored twice")
            dtypes.add(str(t.dtype).removeprefix("torch."))
            tensors[name] = t.float()
    if index.exists():
        missing = sorted(set(weight_map) - set(tensors))
        if missing:
            raise JobError(f"the index names {missing[0]}, which no shard holds")
    return tensors, "+".join(sorted(dtypes))


def build_model(cfg: ModelConfig, tensors: dict[str, torch.Tensor]) -> LlamaForCausalLM:
    """Our decoder with the checkpoint's weights; a missing, extra or misshapen tensor is named."""
    model = LlamaForCausalLM(cfg)
    expected = model.base_state_dict()
    given = {k: v for k, v in tensors.items() if not k.endswith("rotary_emb.inv_freq")}
    if cfg.tie_embeddings:
        given.pop("lm_head.weight", None)
    for name, t in given.items():
        if name not in expected:
            raise JobError(f"tensor {name} is not part of a {cfg.model_type} model of this config")
        if tuple(t.shape) != tuple(expected[name].shape):
            raise JobError(f"tensor {name} has shape {list(t.shape)}, the config makes it {list(expected[name].shape)}")
    missing = sorted(set(expected) - set(given))
    if missing:
        raise JobError(f"tensor {missing[0]} is missing")
    model.load_state_dict(given, strict=False)
    return model.eval()


def onnx_logits(path: Path, cfg: ModelConfig, ids: list[int], keep: int = 0) -> np.ndarray:
    """The exported graph's logits for one sequence, every LoRA input at rank 0, on onnxruntime (CPU)."""
    import onnxruntime as ort  # noqa: PLC0415 - the import environment's (scripts/setup-venv.sh)

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    t = len(ids)
    feed: dict[str, np.ndarray] = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, t), dtype=np.int64),
        "position_ids": np.arange(t, dtype=np.int64)[None],
    }
    for i in range(cfg.n_layers):
        for kind in ("key", "value"):
            feed[f"past_key_values.{i}.{kind}"] = np.zeros((1, cfg.n_kv_heads, 0, cfg.head_dim), dtype=np.float32)
    for m in cfg.lora_modules():
        fin, fout = cfg.target_shape(m.rsplit(".", 1)[1])
        feed[f"{m}.lora_A.weight"] = np.zeros((1, 0, fin), dtype=np.float32)
        feed[f"{m}.lora_B.weight"] = np.zeros((1, fout, 0), dtype=np.float32)
    if any(i.name == "logits_keep" for i in session.get_inputs()):
        feed["logits_keep"] = np.array([keep], dtype=np.int64)
    return session.run(["logits"], feed)[0][0]


def parity(src: Path, graph: Path, cfg: ModelConfig, ids: list[int]) -> dict:
    """max |Δlogits| of the graph (and of our torch decoder) against transformers' forward pass on the source."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    hf = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32).eval()
    with torch.no_grad():
        reference = hf(torch.tensor([ids])).logits[0].numpy()
    ours = onnx_logits(graph, cfg, ids)
    return {"positions": len(ids), "graph_max_abs_diff": float(np.abs(ours - reference).max()),
            "limit": PARITY_LIMIT}


def bits_per_byte(model: LlamaForCausalLM, tokenizer_path: Path, sample: dict[str, list[str]],
                  context: int) -> dict:
    """Bits per UTF-8 byte of each genre's passages (each scored alone from its start, after the token the engine
    puts first): NLL in nats / ln 2 / bytes, comparable across tokenizers."""
    from tokenizers import Tokenizer  # noqa: PLC0415

    tok = Tokenizer.from_file(str(tokenizer_path))
    start = model.cfg.row_bos  # the token the engine puts first (BOS, or EOS for a base that adds none)
    out: dict[str, dict] = {}
    nats_all = bytes_all = 0.0
    for genre, passages in sample.items():
        nats = nbytes = 0.0
        for text in passages:
            ids = tok.encode(text, add_special_tokens=False).ids
            ids = ([start] if start >= 0 else []) + ids
            ids = ids[:context]
            if len(ids) < 2:
                continue
            x = torch.tensor([ids])
            with torch.no_grad():
                logits, _ = model(x[:, :-1])
            nats += float(nll_per_token(logits, x[:, 1:]).sum())
            # bytes of the text the scored tokens cover (a passage cut at the context is counted as cut)
            covered = tok.decode(ids[1:] if start >= 0 else ids, skip_special_tokens=True)
            nbytes += len(covered.encode("utf-8"))
        if nbytes:
            out[genre] = {"bpb": nats / math.log(2) / nbytes, "bytes": int(nbytes)}
            nats_all += nats
            bytes_all += nbytes
    if bytes_all:
        out["all"] = {"bpb": nats_all / math.log(2) / bytes_all, "bytes": int(bytes_all)}
    return out


def quantize_int8(graph: Path) -> Path:
    """The graph with int8 weights. Each MatMul over a constant weight W becomes: the activation quantized per
    call (DynamicQuantizeLinear, uint8 with its scale and zero point), MatMulInteger against W quantized once
    (int8, symmetric per output column), the int32 product cast to float and scaled by both scales. The LoRA
    products take graph inputs, not constants, so they stay fp32 and adapters apply as before; a tied head's
    Gemm and the embedding's Gather keep the fp32 matrix they share."""
    import onnx  # noqa: PLC0415
    from onnx import helper, numpy_helper  # noqa: PLC0415

    model = onnx.load(str(graph))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    out_nodes = []
    dropped: set[str] = set()
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2:
            out_nodes.append(n)
            continue
        weight = numpy_helper.to_array(w).astype(np.float32)  # [in, out]
        scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0  # per output column
        q = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
        p = f"{n.name}/int8"
        g.initializer.extend([
            numpy_helper.from_array(q, f"{p}/w"),
            numpy_helper.from_array(scale.astype(np.float32), f"{p}/w_scale"),
        ])
        dropped.add(w.name)
        x = n.input[0]
        out_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [f"{p}/xq", f"{p}/xs", f"{p}/xz"], name=f"{p}/Quantize"),
            helper.make_node("MatMulInteger", [f"{p}/xq", f"{p}/w", f"{p}/xz"], [f"{p}/acc"], name=f"{p}/MatMul"),
            helper.make_node("Cast", [f"{p}/acc"], [f"{p}/accf"], name=f"{p}/Cast", to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [f"{p}/xs", f"{p}/w_scale"], [f"{p}/s"], name=f"{p}/Scales"),
            helper.make_node("Mul", [f"{p}/accf", f"{p}/s"], [n.output[0]], name=f"{p}/Scale"),
        ]
    still = {i for n in out_nodes for i in n.input}
    keep = [i for i in g.initializer if i.name not in dropped or i.name in still]
    del g.initializer[:]
    g.initializer.extend(keep)
    del g.node[:]
    g.node.extend(out_nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(graph))
    return graph


def quantized_parity(src: Path, graph: Path, cfg: ModelConfig, ids: list[int]) -> dict:
    """A quantized graph on onnxruntime's CPU kernels (the native lane's) against transformers in fp32: the
    largest logit difference, and how often the most likely next token agrees."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    hf = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32).eval()
    with torch.no_grad():
        reference = hf(torch.tensor([ids])).logits[0].numpy()
    ours = onnx_logits(graph, cfg, ids)
    agree = float((ours.argmax(-1) == reference.argmax(-1)).mean())
    relative = float(np.linalg.norm(ours - reference) / max(np.linalg.norm(reference - reference.mean()), 1e-12))
    return {"positions": len(ids), "graph_max_abs_diff": float(np.abs(ours - reference).max()),
            "relative_error": relative, "top1_agreement": agree,
            "runtime": "onnxruntime CPU (the native lane's kernels)"}


def import_checkpoint(src: str, out: str, *, name: str, served_context: int, sample: str | None,
                      check: bool = True, quantize: str = "none") -> dict:
    if quantize not in ("none", "int8"):  # before any work
        raise JobError(f'quantize "{quantize}" is not supported (none, int8)')
    src_dir, out_dir = Path(src), Path(out)
    t0 = time.time()
    total = 5
    _stage("reading the checkpoint", 0, total)
    hf_config = json.loads((src_dir / "config.json").read_text())
    tokenizer_config = json.loads((src_dir / "tokenizer_config.json").read_text())
    add_bos = bool(tokenizer_config.get("add_bos_token", hf_config.get("bos_token_id") is not None
                                        and hf_config.get("model_type") != "qwen2"))
    context = min(served_context, int(hf_config["max_position_embeddings"]))
    generation = src_dir / "generation_config.json"
    eos: list[int] = []
    for source in (hf_config, json.loads(generation.read_text()) if generation.exists() else {}):
        value = source.get("eos_token_id")
        for i in value if isinstance(value, list) else [] if value is None else [value]:
            if isinstance(i, int) and i not in eos:
                eos.append(i)
    tailor = {
        "eos_ids": eos,
        "lora_targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "max_lora_rank": 64,
        "served_context": context,
        "add_bos": add_bos,
        "import": {"name": name, "family": hf_config["model_type"]},
    }
    cfg = ModelConfig.from_hf({**hf_config, "tailor": tailor})
    try:
        tensors, dtype = read_weights(src_dir)
    except ValueError as e:  # safetensors_io's refusals (a bad header, an unknown dtype) name the tensor
        raise JobError(str(e)) from e
    _stage("building the decoder", 1, total, dtype=dtype)
    model = build_model(cfg, tensors)
    del tensors
    params = model.num_params()

    out_dir.mkdir(parents=True, exist_ok=True)
    safetensors_io.save(model.base_state_dict(), out_dir / "model.safetensors", {"format": "pt"})
    for f in COPIED:
        if (src_dir / f).exists():
            shutil.copyfile(src_dir / f, out_dir / f)
    # transformers 5 writes the chat template beside tokenizer_config.json: the package keeps it inside, where the
    # platform's tokenizer reads it
    template = src_dir / "chat_template.jinja"
    if template.exists() and "chat_template" not in tokenizer_config:
        (out_dir / "tokenizer_config.json").write_text(
            json.dumps({**tokenizer_config, "chat_template": template.read_text()}, indent=2))
    _stage("exporting the decoder graph", 2, total, params=params)
    from .export_onnx import export  # noqa: PLC0415 - needs onnx

    graph = export(model, out_dir / "model.onnx", with_lora=True)
    fp32_bytes = graph.stat().st_size

    report: dict = {"name": name, "family": cfg.model_type, "source_dtype": dtype, "params": params,
                    "served_context": context, "graph_bytes": fp32_bytes, "quantized": quantize}
    if check:
        _stage("checking the graph against transformers", 3, total)
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, min(cfg.vocab_size, _tokenizer_size(src_dir)), (min(24, context),), generator=g)
        report["parity"] = parity(src_dir, graph, cfg, ids.tolist())
        if report["parity"]["graph_max_abs_diff"] > PARITY_LIMIT:
            raise JobError(f"the exported graph differs from transformers by "
                           f"{report['parity']['graph_max_abs_diff']:.3g} on logits (limit {PARITY_LIMIT:g})")
    if quantize == "int8":
        _stage("quantizing the weights to int8", 3, total)
        quantize_int8(graph)
        report["graph_bytes"] = graph.stat().st_size
        report["graph_bytes_fp32"] = fp32_bytes
        if check:
            report["quantized_parity"] = quantized_parity(src_dir, graph, cfg, ids.tolist())

    if sample:
        _stage("bits per byte on held-out text", 4, total)
        texts = json.loads(Path(sample).read_text())
        report["bits_per_byte"] = bits_per_byte(model, src_dir / "tokenizer.json", texts, context)
    report["seconds"] = round(time.time() - t0, 1)
    tailor["import"].update(report)
    if quantize != "none":
        tailor["quantized"] = quantize  # the engine merges no LoRA into int8 weights
    (out_dir / "config.json").write_text(json.dumps(cfg.to_hf(tailor), indent=2) + "\n")
    _stage("done", total, total, seconds=report["seconds"])
    return report


def _tokenizer_size(src: Path) -> int:
    tok = json.loads((src / "tokenizer.json").read_text())
    ids = list(tok["model"]["vocab"].values()) + [a["id"] for a in tok.get("added_tokens", [])]
    return max(ids) + 1
