"""Importing Hugging Face checkpoints: every family and variant the platform supports, written by `transformers`
itself (tiny_checkpoints.py), becomes a package whose graph equals transformers' forward pass, whose weights our
trainer loads, and whose refusals name the field. Runs in the import environment (scripts/setup-venv.sh), which
has transformers; scripts/test-py.sh runs it there."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from tailor_trainer.config import ModelConfig  # noqa: E402
from tailor_trainer.errors import JobError  # noqa: E402
from tailor_trainer.hf_import import import_checkpoint  # noqa: E402
from tailor_trainer.pretrain import load_model  # noqa: E402

from tests.tiny_checkpoints import VARIANTS, make  # noqa: E402


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_import_matches_transformers(tmp_path, variant):
    src = make(variant, tmp_path / "src")
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"fiction": ["The rain had stopped when she reached the door.", "He said no."]}))
    report = import_checkpoint(str(src), str(tmp_path / "out"), name=variant, served_context=512, sample=str(sample))
    assert report["parity"]["graph_max_abs_diff"] <= 1e-4
    assert 0 < report["bits_per_byte"]["fiction"]["bpb"] < 30
    # the package loads in our trainer with the family's features, and its config still loads in transformers
    model = load_model(tmp_path / "out")
    family, overrides, _, _ = VARIANTS[variant]
    assert model.cfg.model_type == family
    assert model.cfg.qkv_bias == (family == "qwen2")
    assert model.cfg.tie_embeddings == overrides.get("tie_word_embeddings", False)
    from transformers import AutoConfig  # noqa: PLC0415

    assert AutoConfig.from_pretrained(str(tmp_path / "out")).model_type == family


def test_a_shard_that_lies_about_its_tensor_is_named(tmp_path):
    src = make("llama-tied", tmp_path / "src")
    cfg = json.loads((src / "config.json").read_text())
    cfg["intermediate_size"] = 120  # the weights say 112
    (src / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(JobError, match=r"mlp\.(gate|up|down)_proj\.weight has shape"):
        import_checkpoint(str(src), str(tmp_path / "out"), name="x", served_context=512, sample=None, check=False)


def test_unsupported_rope_is_refused_by_name(tmp_path):
    cfg = json.loads((make("llama-tied", tmp_path / "src") / "config.json").read_text())
    cfg["rope_parameters"] = {"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}
    with pytest.raises(ValueError, match='rope_scaling.type "yarn" is not supported'):
        ModelConfig.from_hf({**cfg, "tailor": {"import": {}}})


def test_old_style_rope_fields_read_like_new_ones():
    old = {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 2, "max_position_embeddings": 64, "rope_theta": 500000.0,
           "rope_scaling": {"type": "linear", "factor": 2.0}, "tailor": {"import": {}}}
    cfg = ModelConfig.from_hf(old)
    assert cfg.rope == ("linear", 2.0) and cfg.rope_theta == 500000.0
