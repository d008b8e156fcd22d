"""Command line: `python3 -m tailor_trainer <command> ...` (run from gpu-worker/trainer)."""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from .config import ModelConfig, PretrainConfig
from .progress import Progress


def pick_device(flag: str) -> str:
    if flag != "auto":
        if flag.startswith("cuda") and not torch.cuda.is_available():
            sys.exit("--device cuda asked for, but torch sees no CUDA device")
        return flag
    return "cuda" if torch.cuda.is_available() else "cpu"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="tailor_trainer")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--progress-json", action="store_true", help="also print progress as JSON lines on stdout")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("pretrain", help="token-id shards → base model weights")
    p.add_argument("--shards", required=True)
    p.add_argument("--out", required=True)
    for name, default in vars(PretrainConfig()).items():
        if name != "extra":
            p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    for name in ("dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "vocab_size"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(ModelConfig(), name))

    e = sub.add_parser("export-onnx", help="model dir → model.onnx (LoRA inputs) or a base-only graph")
    e.add_argument("--model", required=True)
    e.add_argument("--out", help="output file (default: <model>/model.onnx)")
    e.add_argument("--base-only", metavar="DIR", help="write a base-only graph in transformers.js's folder layout")
    e.add_argument("--opset", type=int, default=17)

    g = sub.add_parser("dump-golden", help="reference logits for the ONNX parity tests")
    g.add_argument("--model", required=True)
    g.add_argument("--out", required=True)

    t = sub.add_parser("train-lora", help="train LoRA adapters from a JSON job (see train_lora.py)")
    t.add_argument("--job", required=True, help="job JSON file, or - for stdin")

    h = sub.add_parser("import-hf", help="a Hugging Face checkpoint directory → a Tailor model package")
    h.add_argument("--src", required=True)
    h.add_argument("--out", required=True)
    h.add_argument("--name", required=True)
    h.add_argument("--context", type=int, default=512, help="the most positions the platform serves")
    h.add_argument("--sample", help="JSON {genre: [passage, ...]}: held-out text for bits per byte")
    h.add_argument("--no-check", action="store_true", help="skip the check against transformers")
    h.add_argument("--quantize", choices=["none", "int8"], default="none", help="the served graph's weights")

    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    Progress.json_lines = args.progress_json
    device = pick_device(args.device)

    if args.cmd == "pretrain":
        from .pretrain import pretrain

        mcfg = ModelConfig(**{k: getattr(args, k) for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim",
                                                              "vocab_size")})
        tcfg = PretrainConfig(**{k: getattr(args, k) for k in vars(PretrainConfig()) if k != "extra"})
        report = pretrain(args.shards, args.out, mcfg, tcfg, device)
        print(json.dumps(report["heldout"]["all"]))
    elif args.cmd == "export-onnx":
        from .export_onnx import export_base_only, export_lora_graph

        if args.base_only:
            export_base_only(args.model, args.base_only, args.opset)
        else:
            export_lora_graph(args.model, args.out, args.opset)
    elif args.cmd == "dump-golden":
        from .golden import dump_golden

        dump_golden(args.model, args.out)
    elif args.cmd == "import-hf":
        from .errors import JobError
        from .hf_import import import_checkpoint

        try:
            report = import_checkpoint(args.src, args.out, name=args.name, served_context=args.context,
                                       sample=args.sample, check=not args.no_check, quantize=args.quantize)
        except JobError as e:
            print(json.dumps({"event": "error", "message": str(e)}), flush=True)
            sys.exit(2)
        print(json.dumps({"event": "result", **report}), flush=True)
    elif args.cmd == "train-lora":
        from .train_lora import run_job

        job = json.load(sys.stdin if args.job == "-" else open(args.job))
        result = run_job(job, device)
        print(json.dumps({"event": "result", **result}), flush=True)


if __name__ == "__main__":
    main()
