"""Configuration dataclasses, and their mapping to Hugging Face `config.json` / PEFT `adapter_config.json` (LoRA and
prefix tuning)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Every linear projection of a decoder layer can carry a LoRA pair. The names are Hugging Face Llama's.
ATTN_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_TARGETS = ("gate_proj", "up_proj", "down_proj")
ALL_TARGETS = ATTN_TARGETS + MLP_TARGETS


FAMILIES = ("llama", "mistral", "qwen2")


def rope_params(cfg: dict) -> dict:
    """Rotary parameters in one form: transformers 5 writes `rope_parameters`; checkpoints saved before it,
    `rope_theta` beside `rope_scaling` (whose kind is `rope_type`, or `type` in older files)."""
    if isinstance(cfg.get("rope_parameters"), dict):
        return dict(cfg["rope_parameters"])
    out = dict(cfg.get("rope_scaling") or {})
    if "type" in out and "rope_type" not in out:
        out["rope_type"] = out.pop("type")
    out.setdefault("rope_type", "default")
    out["rope_theta"] = cfg.get("rope_theta", 10000.0)
    return out


def rope_of(cfg: dict) -> tuple:
    p = rope_params(cfg)
    kind = p.get("rope_type", "default")
    if kind == "default":
        return ("default",)
    if kind == "linear":
        return ("linear", float(p["factor"]))
    if kind == "llama3":
        return ("llama3", float(p["factor"]), float(p["low_freq_factor"]), float(p["high_freq_factor"]),
                float(p["original_max_position_embeddings"]))
    raise ValueError(f'rope_scaling.type "{kind}" is not supported')


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 4096
    dim: int = 256
    n_layers: int = 4
    n_heads: int = 8
    n_kv_heads: int = 4
    ffn_dim: int = 704
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    bos_id: int = 0  # -1: the base has none (Qwen2)
    eos_id: int = 0  # the first of an imported base's eos list
    lora_targets: tuple[str, ...] = ALL_TARGETS
    max_lora_rank: int = 64
    # What imported bases (hf_import.py) vary; the defaults are the shipped base's.
    model_type: str = "llama"  # llama | mistral | qwen2
    explicit_head_dim: int = 0  # 0: dim / n_heads
    qkv_bias: bool = False  # Qwen2; Llama's attention_bias (which also biases o_proj)
    o_bias: bool = False
    tie_embeddings: bool = True
    # Whether the base's tokenizer puts bos_id first (tailor.add_bos; Qwen2 adds none even where it names one).
    add_bos: bool = True
    # Rotary frequencies: ("default",) or ("linear", factor) or ("llama3", factor, low, high, original_max)
    rope: tuple = ("default",)
    # The source checkpoint's config.json, kept whole so the package's config still loads in transformers.
    source: dict | None = field(default=None, compare=False, hash=False)

    @property
    def row_bos(self) -> int:
        """The token every training and scoring row starts with, as the engine serves it: the BOS when the base
        adds one, else its EOS (the separator such bases saw between documents: Qwen2's `<|endoftext|>`); -1 only
        for a base with neither."""
        if self.add_bos and self.bos_id >= 0:
            return self.bos_id
        return self.eos_id if self.eos_id >= 0 else -1

    @property
    def head_dim(self) -> int:
        return self.explicit_head_dim or self.dim // self.n_heads

    def target_shape(self, target: str) -> tuple[int, int]:
        """(in_features, out_features) of a projection."""
        kv = self.n_kv_heads * self.head_dim
        q = self.n_heads * self.head_dim
        return {
            "q_proj": (self.dim, q),
            "k_proj": (self.dim, kv),
            "v_proj": (self.dim, kv),
            "o_proj": (q, self.dim),
            "gate_proj": (self.dim, self.ffn_dim),
            "up_proj": (self.dim, self.ffn_dim),
            "down_proj": (self.ffn_dim, self.dim),
        }[target]

    def lora_modules(self) -> list[str]:
        """Module paths under HF names, in the fixed order used by the ONNX graph inputs."""
        out = []
        for i in range(self.n_layers):
            for t in self.lora_targets:
                group = "self_attn" if t in ATTN_TARGETS else "mlp"
                out.append(f"model.layers.{i}.{group}.{t}")
        return out

    def to_hf(self, extra: dict | None = None) -> dict:
        if self.source is not None:  # an imported base: its own config, Tailor's section beside it
            cfg = {k: v for k, v in self.source.items() if k != "tailor"}
            cfg["torch_dtype"] = cfg["dtype"] = "float32"  # the package's weights are fp32 whatever came in
            tailor = {"lora_targets": list(self.lora_targets), "max_lora_rank": self.max_lora_rank}
            tailor.update(extra or {})
            cfg["tailor"] = tailor
            return cfg
        cfg = {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.dim,
            "intermediate_size": self.ffn_dim,
            "num_hidden_layers": self.n_layers,
            "num_attention_heads": self.n_heads,
            "num_key_value_heads": self.n_kv_heads,
            "head_dim": self.head_dim,
            "max_position_embeddings": self.max_seq_len,
            "rope_theta": self.rope_theta,
            "rope_scaling": None,
            "rms_norm_eps": self.norm_eps,
            "hidden_act": "silu",
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "tie_word_embeddings": True,
            "bos_token_id": self.bos_id,
            "eos_token_id": self.eos_id,
            "pad_token_id": self.eos_id,
            "initializer_range": 0.02,
            "torch_dtype": "float32",
            "use_cache": True,
        }
        tailor = {"lora_targets": list(self.lora_targets), "max_lora_rank": self.max_lora_rank}
        tailor.update(extra or {})
        cfg["tailor"] = tailor
        return cfg

    @staticmethod
    def from_hf(cfg: dict) -> "ModelConfig":
        if cfg.get("model_type") not in FAMILIES:
            raise ValueError(f"model_type {cfg.get('model_type')!r} is not supported (supported: {', '.join(FAMILIES)})")
        tailor = cfg.get("tailor", {})
        imported = "import" in tailor  # the shipped base predates these fields; an imported one names them all
        kind = cfg["model_type"]
        first = lambda v: (v[0] if v else None) if isinstance(v, list) else v  # noqa: E731 - eos lists: the first
        bos = first(cfg.get("bos_token_id"))
        eos = first(cfg.get("eos_token_id"))
        return ModelConfig(
            vocab_size=cfg["vocab_size"],
            dim=cfg["hidden_size"],
            n_layers=cfg["num_hidden_layers"],
            n_heads=cfg["num_attention_heads"],
            n_kv_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
            ffn_dim=cfg["intermediate_size"],
            max_seq_len=cfg["max_position_embeddings"],
            rope_theta=float(rope_params(cfg).get("rope_theta", 10000.0)),
            norm_eps=cfg.get("rms_norm_eps", 1e-5),
            bos_id=-1 if bos is None else int(bos),
            eos_id=-1 if eos is None else int(eos),
            lora_targets=tuple(tailor.get("lora_targets", ALL_TARGETS)),
            max_lora_rank=tailor.get("max_lora_rank", 64),
            model_type=kind,
            explicit_head_dim=int(cfg.get("head_dim") or 0) if imported else 0,
            qkv_bias=kind == "qwen2" or bool(cfg.get("attention_bias", False)),
            o_bias=kind != "qwen2" and bool(cfg.get("attention_bias", False)),
            tie_embeddings=bool(cfg.get("tie_word_embeddings", kind == "llama" and not imported)),
            add_bos=bool(tailor.get("add_bos", bos is not None)),
            rope=rope_of(cfg),
            source=cfg if imported else None,
        ) if imported else ModelConfig(
            vocab_size=cfg["vocab_size"], dim=cfg["hidden_size"], n_layers=cfg["num_hidden_layers"],
            n_heads=cfg["num_attention_heads"], n_kv_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
            ffn_dim=cfg["intermediate_size"], max_seq_len=cfg["max_position_embeddings"],
            rope_theta=cfg.get("rope_theta", 10000.0), norm_eps=cfg.get("rms_norm_eps", 1e-5),
            bos_id=bos or 0, eos_id=eos or 0,
            lora_targets=tuple(tailor.get("lora_targets", ALL_TARGETS)), max_lora_rank=tailor.get("max_lora_rank", 64),
        )

    @staticmethod
    def load(model_dir: str | Path) -> "ModelConfig":
        return ModelConfig.from_hf(json.loads((Path(model_dir) / "config.json").read_text()))


@dataclass
class LoraConfig:
    r: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ALL_TARGETS
    dropout: float = 0.0

    @property
    def scaling(self) -> float:
        return self.alpha / self.r

    def to_peft(self, base_model: str) -> dict:
        """adapter_config.json exactly as PEFT writes it for a LoRA on a causal LM."""
        return {
            "alpha_pattern": {},
            "auto_mapping": None,
            "base_model_name_or_path": base_model,
            "bias": "none",
            "fan_in_fan_out": False,
            "inference_mode": True,
            "init_lora_weights": True,
            "layers_pattern": None,
            "layers_to_transform": None,
            "lora_alpha": self.alpha,
            "lora_dropout": self.dropout,
            "modules_to_save": None,
            "peft_type": "LORA",
            "r": self.r,
            "rank_pattern": {},
            "revision": None,
            "target_modules": sorted(self.targets),
            "task_type": "CAUSAL_LM",
            "use_dora": False,
            "use_rslora": False,
        }

    @staticmethod
    def from_peft(cfg: dict) -> "LoraConfig":
        if cfg.get("peft_type") != "LORA":
            raise ValueError(f"not a LoRA adapter: peft_type={cfg.get('peft_type')!r}")
        targets = cfg["target_modules"]
        if isinstance(targets, str):
            raise ValueError("regex target_modules are not supported")
        return LoraConfig(r=int(cfg["r"]), alpha=float(cfg["lora_alpha"]), targets=tuple(targets),
                          dropout=float(cfg.get("lora_dropout", 0.0)))


@dataclass
class PrefixConfig:
    num_virtual_tokens: int = 16

    def to_peft(self, base_model: str, model_cfg: ModelConfig) -> dict:
        """adapter_config.json as PEFT writes it for prefix tuning on a causal LM without a projection. For grouped
        KV heads PEFT counts the KV heads: token_dim = K·D, num_attention_heads = K."""
        kv_dim = model_cfg.n_kv_heads * model_cfg.head_dim
        return {
            "auto_mapping": None,
            "base_model_name_or_path": base_model,
            "encoder_hidden_size": kv_dim,
            "inference_mode": True,
            "num_attention_heads": model_cfg.n_kv_heads,
            "num_layers": model_cfg.n_layers,
            "num_transformer_submodules": 1,
            "num_virtual_tokens": self.num_virtual_tokens,
            "peft_type": "PREFIX_TUNING",
            "prefix_projection": False,
            "revision": None,
            "task_type": "CAUSAL_LM",
            "token_dim": kv_dim,
        }

    @staticmethod
    def from_peft(cfg: dict) -> "PrefixConfig":
        if cfg.get("peft_type") != "PREFIX_TUNING":
            raise ValueError(f"not a prefix-tuning adapter: peft_type={cfg.get('peft_type')!r}")
        if cfg.get("prefix_projection", False):
            raise ValueError("prefix_projection adapters are not supported")
        return PrefixConfig(num_virtual_tokens=int(cfg["num_virtual_tokens"]))


@dataclass
class PretrainConfig:
    steps: int = 3000
    batch_size: int = 32
    seq_len: int = 256
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 250
    seed: int = 1234
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)
