"""Importing Hugging Face checkpoints: every family and variant the platform supports, written by `transformers`
itself (tiny_checkpoints.py), becomes a package whose graph equals transformers' forward pass, whose weights our
trainer loads and trains LoRA and prefix adapters on (which load in `peft` with the same logits), and whose
refusals name the field. Runs in the import environment (scripts/setup-venv.sh), which has transformers and peft;
scripts/test-py.sh runs it there."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402

from tailor_trainer.adapters import load_baseline  # noqa: E402
from tailor_trainer.config import ModelConfig  # noqa: E402
from tailor_trainer.errors import JobError  # noqa: E402
from tailor_trainer.hf_import import import_checkpoint, onnx_logits  # noqa: E402
from tailor_trainer.pretrain import load_model  # noqa: E402
from tailor_trainer.train_lora import Example, make_rows, run_job  # noqa: E402

from tests.tiny_checkpoints import VARIANTS, make  # noqa: E402

ADAPTER_PARITY = 1e-4  # fp32 max |Δlogits|, our model + adapter against transformers + peft on the same files


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """variant → (source checkpoint, package, import report): each variant written and imported once per module."""
    done: dict[str, tuple[Path, Path, dict]] = {}
    sample = tmp_path_factory.mktemp("sample") / "sample.json"
    sample.write_text(json.dumps({"fiction": ["The rain had stopped when she reached the door.", "He said no."]}))

    def get(variant: str) -> tuple[Path, Path, dict]:
        if variant not in done:
            root = tmp_path_factory.mktemp(variant)
            src = make(variant, root / "src")
            report = import_checkpoint(str(src), str(root / "out"), name=variant, served_context=512,
                                       sample=str(sample))
            done[variant] = (src, root / "out", report)
        return done[variant]

    return get


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_import_matches_transformers(imported, variant):
    _, out, report = imported(variant)
    assert report["parity"]["graph_max_abs_diff"] <= 1e-4
    assert 0 < report["bits_per_byte"]["fiction"]["bpb"] < 30
    # the package loads in our trainer with the family's features, and its config still loads in transformers
    model = load_model(out)
    family, overrides, _, _ = VARIANTS[variant]
    assert model.cfg.model_type == family
    assert model.cfg.qkv_bias == (family == "qwen2")
    assert model.cfg.tie_embeddings == overrides.get("tie_word_embeddings", False)
    from transformers import AutoConfig  # noqa: PLC0415

    assert AutoConfig.from_pretrained(str(out)).model_type == family
    # every token that ends a text, for the engine to stop on (config and generation_config)
    package = json.loads((out / "config.json").read_text())
    assert package["tailor"]["eos_ids"] == [model.cfg.eos_id]
    # the graph holds the vocabulary × width matrix once when the head is tied, twice only when it is not
    import onnx  # noqa: PLC0415

    graph = onnx.load(str(out / "model.onnx")).graph
    v, d = model.cfg.vocab_size, model.cfg.dim
    big = [i for i in graph.initializer if sorted(i.dims) == sorted([v, d])]
    assert len(big) == (1 if model.cfg.tie_embeddings else 2)


def test_the_graph_projects_only_the_positions_asked(imported):
    _, out, _ = imported("qwen2")
    cfg = ModelConfig.load(out)
    ids = list(range(3, 23))
    every = onnx_logits(out / "model.onnx", cfg, ids, keep=0)
    last = onnx_logits(out / "model.onnx", cfg, ids, keep=1)
    three = onnx_logits(out / "model.onnx", cfg, ids, keep=3)
    assert every.shape[0] == len(ids) and last.shape[0] == 1 and three.shape[0] == 3
    assert abs(every[-1] - last[0]).max() < 1e-5 and abs(every[-3:] - three).max() < 1e-5


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


@pytest.mark.parametrize("method", ["lora", "prefix"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_adapters_trained_on_an_imported_base_load_in_peft_with_the_same_logits(imported, tmp_path, variant, method):
    """A few steps of `train-lora` (rank 4, or a 3-token prefix) on the package; the adapter directory then loads
    with peft onto transformers' model of the *source* checkpoint, and both give our model's logits with it
    (through the trainer's own reading of an adapter, on a right-padded batch)."""
    PeftModel = pytest.importorskip("peft").PeftModel  # noqa: N806
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    src, pkg, _ = imported(variant)
    out = tmp_path / "adapter"
    job = {"version": 1, "base_model": str(pkg), "base_model_id": variant, "method": method,
           "lora": {"r": 4, "alpha": 8}, "prefix": {"num_virtual_tokens": 3},
           "train": {"steps": 3, "lr": 5e-2, "batch_size": 2, "eval_every": 1, "patience": 5, "max_len": 16},
           "users": [{"id": "u", "out_dir": str(out),
                      "train": [{"prompt": [4, 9], "completion": [5, 6, 7, 8, 9, 10]},
                                {"prompt": [], "completion": [5, 6, 7, 8]}],
                      "heldout": [{"prompt": [4], "completion": [5, 6, 7, 8]}]}]}
    result = run_job(job, "cpu")["users"][0]
    assert result["best_step"] > 0 and result["heldout_loss_after"] < result["heldout_loss_before"]

    ours = load_model(pkg)
    ids = torch.tensor([[3, 17, 42, 5, 99, 7, 11, 64], [8, 1, 250, 33, 2, 0, 0, 0]])
    attention = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    hf = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32).eval()
    peft_model = PeftModel.from_pretrained(hf, str(out)).eval()
    with torch.no_grad():
        theirs = peft_model(input_ids=ids, attention_mask=attention).logits
        with peft_model.disable_adapter():
            base = peft_model(input_ids=ids, attention_mask=attention).logits
        adapter = load_baseline(ours, str(out), "cpu")
        mine, _ = ours(ids, **adapter.inputs(torch.zeros(2, dtype=torch.long), attention))
    real = attention.bool()
    diff = (mine - theirs)[real].abs().max().item()
    print(f"{variant} {method}: max |Δlogits| vs peft {diff:.3g}")
    assert diff <= ADAPTER_PARITY
    assert (theirs - base)[real].abs().max().item() > 1e-2  # the adapter does change the output: parity means something


def test_rows_start_with_bos_only_where_the_base_adds_one():
    # Qwen2 names a BOS in its config but adds none (add_bos_token false); an imported Qwen2 may also name none
    qwen = {"model_type": "qwen2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 64, "bos_token_id": 5, "eos_token_id": [6, 7]}
    cfg = ModelConfig.from_hf({**qwen, "tailor": {"import": {}, "add_bos": False}})
    # no BOS added: rows start with the EOS, as the engine serves them
    assert (cfg.bos_id, cfg.eos_id, cfg.row_bos) == (5, 6, 6)
    assert ModelConfig.from_hf({**qwen, "bos_token_id": None, "tailor": {"import": {}}}).row_bos == 6
    assert ModelConfig.from_hf({**qwen, "bos_token_id": None, "eos_token_id": None, "tailor": {"import": {}}}).row_bos == -1
    assert ModelConfig.from_hf({**qwen, "model_type": "llama", "tailor": {"import": {}, "add_bos": True}}).row_bos == 5
    seqs, masks, _ = make_rows([Example([1, 2, 3], [4, 5], 1.0), Example([], [4, 5, 6], 1.0)], -1, 4)
    assert seqs == [[1, 2, 3, 4, 5], [4, 5, 6]]  # no BOS: prompt + completion in max_len + 1 tokens
    assert masks == [[False, False, False, True, True], [True, True, True]]
    seqs, masks, _ = make_rows([Example([1, 2, 3], [4, 5], 1.0)], 0, 4)
    assert seqs == [[0, 2, 3, 4, 5]] and masks == [[False, False, False, True, True]]


@pytest.mark.parametrize("variant", ["llama-untied-fp16-sharded", "qwen2"])
def test_int8_graph_is_smaller_and_agrees_on_the_next_token(tmp_path, variant):
    src = make(variant, tmp_path / "src")
    report = import_checkpoint(str(src), str(tmp_path / "out"), name=variant, served_context=512, sample=None,
                               quantize="int8")
    q = report["quantized_parity"]
    assert report["graph_bytes"] < report["graph_bytes_fp32"]
    # int8, not fp32: different, and the same function (a wrong scale or layout errs by 100 % and more). How
    # often the next token agrees is reported, not asserted: random weights have flat logits that int8 noise
    # reorders (measured 58-75 % here and on a random 135 M base, relative error 10-20 %).
    assert 0 < q["graph_max_abs_diff"] and q["relative_error"] < 0.3
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["tailor"]["quantized"] == "int8"
    import onnx  # noqa: PLC0415

    graph = onnx.load(str(tmp_path / "out" / "model.onnx")).graph
    assert "MatMulInteger" in {n.op_type for n in graph.node}
    # every projection weight is int8 now; fp32 matrices left are the vocabulary's (embedding, head)
    vocab = config["vocab_size"]
    fp32 = [i for i in graph.initializer if len(i.dims) == 2 and i.data_type == onnx.TensorProto.FLOAT]
    assert fp32 and all(vocab in i.dims for i in fp32)
    assert any(i.data_type == onnx.TensorProto.INT8 for i in graph.initializer)


def test_an_unknown_quantization_is_refused(tmp_path):
    src = make("llama-tied", tmp_path / "src")
    with pytest.raises(JobError, match='quantize "int4" is not supported'):
        import_checkpoint(str(src), str(tmp_path / "out"), name="x", served_context=512, sample=None, check=False,
                          quantize="int4")


def test_a_chat_template_file_goes_into_the_package_tokenizer_config(tmp_path):
    src = make("llama-tied", tmp_path / "src")
    config = json.loads((src / "tokenizer_config.json").read_text())
    template = config.pop("chat_template")
    (src / "tokenizer_config.json").write_text(json.dumps(config))
    (src / "chat_template.jinja").write_text(template)  # where transformers 5 writes it
    import_checkpoint(str(src), str(tmp_path / "out"), name="x", served_context=512, sample=None, check=False)
    assert json.loads((tmp_path / "out" / "tokenizer_config.json").read_text())["chat_template"] == template
