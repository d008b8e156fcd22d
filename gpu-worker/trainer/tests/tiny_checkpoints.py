"""Tiny random Hugging Face checkpoints of every supported family and variant, written by `transformers` itself
(`save_pretrained`), for the import tests: no checkpoint can be downloaded here. Needs the import environment
(scripts/setup-venv.sh). Usage, from gpu-worker/trainer:

    ../../.venv/bin/python -m tests.tiny_checkpoints OUT_DIR [VARIANT ...]

writes OUT_DIR/<variant>/ for each variant (all by default) and prints their names. Byte-level BPE variants reuse
the shipped tokenizer; SentencePiece-style ones (Llama 2, TinyLlama, Mistral: Metaspace, byte fallback) get one
trained here on the repository's docs.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "models" / "brown-4m"

SHAPE = dict(hidden_size=64, intermediate_size=112, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             max_position_embeddings=1024, rms_norm_eps=1e-5)

# variant → (family, config overrides, tokenizer kind, save options)
VARIANTS: dict[str, tuple[str, dict, str, dict]] = {
    "llama-tied": ("llama", {"tie_word_embeddings": True}, "bytes", {}),
    "llama-untied-fp16-sharded": ("llama", {"tie_word_embeddings": False, "dtype": "float16"}, "bytes",
                                  {"max_shard_size": "200KB"}),
    "llama3-rope": ("llama", {"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                  "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                  "original_max_position_embeddings": 64},
                              "head_dim": 24, "vocab_size": 4160}, "bytes", {}),
    "llama-linear-rope-bf16": ("llama", {"rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0,
                                                             "factor": 2.0}, "dtype": "bfloat16"}, "bytes", {}),
    "llama2-sentencepiece": ("llama", {}, "sentencepiece", {}),
    "mistral": ("mistral", {"sliding_window": None}, "sentencepiece", {}),
    "qwen2": ("qwen2", {"tie_word_embeddings": True}, "bytes-nobos", {}),
}


# Not tests: the shapes of real bases, random weights, for the benchmarks (bench/imported-base.ts).
BENCH_VARIANTS: dict[str, tuple[str, dict, str, dict]] = {
    # SmolLM2-135M: hidden 576, 30 layers, 9 / 3 heads, MLP 1536, vocab 49152 (padded past the shipped
    # tokenizer's 4096 here: those rows are never sampled), tied, bf16 as published
    "smollm2-135m-shape": ("llama", {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                                     "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
                                     "max_position_embeddings": 8192, "rope_parameters": {
                                         "rope_type": "default", "rope_theta": 100000.0},
                                     "tie_word_embeddings": True, "dtype": "bfloat16"}, "bytes", {}),
}


def sentencepiece_tokenizer(vocab_size: int = 512):
    """A Llama 2-style tokenizer.json: <unk> <s> </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, then BPE
    merges over ▁-joined words (Metaspace, prepend first)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: PLC0415

    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials + byte_tokens, show_progress=False)
    docs = sorted((REPO / "docs").glob("*.md"))
    tok.train([str(p) for p in docs], trainer)
    data = json.loads(tok.to_str())
    # the byte tokens are vocabulary, not added tokens: text "<0x41>" is six characters, not the byte A
    data["added_tokens"] = [a for a in data["added_tokens"] if a["content"] in specials]
    return data


def write_tokenizer(out: Path, kind: str) -> tuple[int, dict]:
    """Writes tokenizer.json + tokenizer_config.json; returns the vocabulary size and the special ids."""
    if kind.startswith("bytes"):
        shutil.copyfile(SHIPPED / "tokenizer.json", out / "tokenizer.json")
        data = json.loads((SHIPPED / "tokenizer.json").read_text())
        size = max(data["model"]["vocab"].values()) + 1
        eos = "<|endoftext|>"
        with_bos = kind == "bytes"
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": eos if with_bos else None,
                  "eos_token": eos, "add_bos_token": with_bos, "add_eos_token": False,
                  "chat_template": "{% for m in messages %}<|endoftext|>{{ m['role'] }}: {{ m['content'] }}\n"
                                   "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"}
        ids = {"bos_token_id": 0 if with_bos else None, "eos_token_id": 0, "pad_token_id": 0}
    else:
        data = sentencepiece_tokenizer()
        (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
        size = max(data["model"]["vocab"].values()) + 1
        config = {"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
                  "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False,
                  "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} "
                                   "{% endfor %}"}
        ids = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return size, ids


def make(variant: str, out: Path) -> Path:
    import torch  # noqa: PLC0415
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig  # noqa: PLC0415

    family, overrides, tok_kind, save = {**VARIANTS, **BENCH_VARIANTS}[variant]
    out.mkdir(parents=True, exist_ok=True)
    size, ids = write_tokenizer(out, tok_kind)
    fields = {**SHAPE, "vocab_size": size, **ids, **overrides}
    if variant in BENCH_VARIANTS:  # real scale: the init of a trained model's magnitude, not the tests' larger one
        fields["initializer_range"] = 0.02
    dtype = fields.pop("dtype", "float32")
    config = AutoConfig.for_model(family, **fields)
    torch.manual_seed(sum(map(ord, variant)))
    model = AutoModelForCausalLM.from_config(config)
    if variant in VARIANTS:  # the tests': logits far from zero, so parity means something
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() >= 2:
                    p.normal_(0, 0.08)
                elif "norm" in name:
                    p.normal_(1, 0.1)
                else:  # biases (Qwen2's q/k/v)
                    p.normal_(0, 0.05)
    model = model.to(getattr(torch, dtype))
    model.save_pretrained(str(out), **save)
    GenerationConfig(bos_token_id=ids["bos_token_id"], eos_token_id=ids["eos_token_id"],
                     pad_token_id=ids["pad_token_id"]).save_pretrained(str(out))
    return out


def main() -> None:
    out = Path(sys.argv[1])
    for variant in sys.argv[2:] or list(VARIANTS):
        make(variant, out / variant)
        print(variant)


if __name__ == "__main__":
    main()
