"""Loads a Tailor model package with Hugging Face `transformers.LlamaForCausalLM` and a Tailor adapter with
`peft.PeftModel`, and compares their logits with Tailor's own model (needs transformers + peft, e.g. on the GPU
machine). Usage, from gpu-worker/trainer:

    python3 -m experiments.hf_parity --model ../../models/brown-4m [--device cuda]

Prints max |Δlogits| for the base model and for a rank-8 adapter trained for a few steps by `train-lora`,
and exits non-zero above 1e-4 (fp32).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile

import torch

from tailor_trainer.pretrain import load_model
from tailor_trainer.train_lora import run_job


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    from peft import PeftModel  # noqa: PLC0415 - only on machines that have them
    from transformers import LlamaForCausalLM  # noqa: PLC0415

    ids = torch.tensor([[0, 464, 1003, 318, 257, 1097, 290, 262, 2613, 3290]], device=args.device)
    ours = load_model(args.model, args.device)
    hf = LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32).to(args.device).eval()
    with torch.no_grad():
        base_diff = (ours(ids)[0] - hf(ids).logits).abs().max().item()

    with tempfile.TemporaryDirectory() as tmp:
        job = {"version": 1, "base_model": args.model, "lora": {"r": 8, "alpha": 16},
               "train": {"steps": 5, "lr": 1e-2, "batch_size": 2, "eval_every": 5},
               "users": [{"id": "u", "out_dir": f"{tmp}/u",
                          "train": [{"prompt": [], "completion": [5, 6, 7, 8, 9, 10, 11, 12]}], "heldout": []}]}
        run_job(job, args.device)
        peft_model = PeftModel.from_pretrained(hf, f"{tmp}/u").to(args.device).eval()
        from tailor_trainer import safetensors_io  # noqa: PLC0415
        tensors, _ = safetensors_io.load(f"{tmp}/u/adapter_model.safetensors")
        cfg = json.load(open(f"{tmp}/u/adapter_config.json"))
        s = cfg["lora_alpha"] / cfg["r"]
        feed = {k[len("base_model.model."):-len(".lora_A.weight")]: (v.to(args.device),
                tensors[k.replace("lora_A", "lora_B")].to(args.device) * s)
                for k, v in tensors.items() if k.endswith("lora_A.weight")}
        with torch.no_grad():
            lora_diff = (ours(ids, lora=feed)[0] - peft_model(ids).logits).abs().max().item()
    result = {"device": args.device, "torch": torch.__version__, "base_max_abs_diff": base_diff,
              "lora_max_abs_diff": lora_diff}
    print(json.dumps(result))
    sys.exit(0 if max(base_diff, lora_diff) <= 1e-4 else 1)


if __name__ == "__main__":
    main()
