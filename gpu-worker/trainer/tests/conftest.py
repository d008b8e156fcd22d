import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tailor_trainer.config import ModelConfig  # noqa: E402
from tailor_trainer.model import LlamaForCausalLM  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "models" / "brown-4m"


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(vocab_size=97, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=48, max_seq_len=64)


@pytest.fixture
def tiny_model(tiny_cfg) -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(tiny_cfg).eval()


@pytest.fixture
def tiny_dir(tmp_path, tiny_model):
    """A model package on disk (config.json + model.safetensors) for the commands that read one."""
    from tailor_trainer.pretrain import save_base, write_config

    save_base(tiny_model, tmp_path)
    write_config(tmp_path, tiny_model.cfg, {})
    return tmp_path
