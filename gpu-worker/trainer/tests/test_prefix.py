import json

import pytest
import torch

from tailor_trainer import safetensors_io
from tailor_trainer.config import PrefixConfig
from tailor_trainer.prefix import from_text, prefixed, to_embeddings, to_kv
from tailor_trainer.train_lora import (JobError, NoAdapter, TrainSettings, eval_users, load_baseline, parse_job,
                                      run_job)
from test_train_lora import job, narrow, user


def prefix_job(model_dir, users, tokens=4, **train):
    j = job(model_dir, users, **train)
    j.update(method="prefix", prefix={"num_virtual_tokens": tokens})
    return j


def learnable_user(tmp_path, name, seed=0):
    """Texts from a narrow token range: a prefix can learn to expect it."""
    return {"id": name, "out_dir": str(tmp_path / name), "train": narrow(seed, 6, 1, 11),
            "heldout": narrow(seed + 100, 3, 1, 11)}


def test_prefix_files_follow_peft_layout(tiny_dir, tmp_path, tiny_cfg):
    result = run_job(dict(prefix_job(tiny_dir, [user(tmp_path, "u1", 1)]), base_model_id="tiny"), "cpu")
    out = tmp_path / "u1"
    kv_dim = tiny_cfg.n_kv_heads * tiny_cfg.head_dim
    assert json.loads((out / "adapter_config.json").read_text()) == {
        "peft_type": "PREFIX_TUNING", "task_type": "CAUSAL_LM", "num_virtual_tokens": 4, "token_dim": kv_dim,
        "num_attention_heads": tiny_cfg.n_kv_heads, "num_layers": tiny_cfg.n_layers,
        "num_transformer_submodules": 1, "encoder_hidden_size": kv_dim, "prefix_projection": False,
        "inference_mode": True, "base_model_name_or_path": "tiny", "revision": None, "auto_mapping": None}
    tensors, meta = safetensors_io.load(out / "adapter_model.safetensors")
    assert list(tensors) == ["prompt_embeddings"] and meta == {"format": "pt"}
    assert tensors["prompt_embeddings"].dtype == torch.float32
    assert tensors["prompt_embeddings"].shape == (4, tiny_cfg.n_layers * 2 * kv_dim)
    assert PrefixConfig.from_peft(json.loads((out / "adapter_config.json").read_text())) == PrefixConfig(4)
    assert result["users"][0]["best_step"] > 0


def test_peft_config_refusals(tiny_cfg):
    good = PrefixConfig(4).to_peft("m", tiny_cfg)
    with pytest.raises(ValueError, match="prefix_projection"):
        PrefixConfig.from_peft(dict(good, prefix_projection=True))
    with pytest.raises(ValueError, match="peft_type"):
        PrefixConfig.from_peft(dict(good, peft_type="LORA"))


def test_prompt_embeddings_round_trip_in_pefts_layout(tiny_cfg):
    n_layers, k, d, p = tiny_cfg.n_layers, tiny_cfg.n_kv_heads, tiny_cfg.head_dim, 5
    emb = torch.randn(p, n_layers * 2 * k * d)
    kv = to_kv(emb, tiny_cfg)
    # PEFT's get_prompt, written out independently: [P, 2L, K, D] → [2L, K, P, D], then (key, value) per layer
    peft = emb.view(p, 2 * n_layers, k, d).permute(1, 2, 0, 3).split(2)
    for (key, value), pair in zip(kv, peft):
        assert key.shape == (k, p, d)
        assert torch.equal(key, pair[0]) and torch.equal(value, pair[1])
    assert torch.equal(to_embeddings(kv), emb)
    with pytest.raises(ValueError, match="expected"):
        to_kv(torch.zeros(p, 7), tiny_cfg)


def test_a_prefix_of_real_activations_is_that_text_in_front(tiny_model):
    """The semantics the edge reproduces: a prefix made of a text's own keys and values behaves as that text."""
    text, ids = [0, 5, 9, 2], torch.tensor([[7, 3, 8, 1, 4]])
    past = from_text(tiny_model, [text], len(text))  # per layer [1, K, P, D]
    with torch.no_grad():
        behind, _ = tiny_model(ids, **prefixed(past, torch.ones_like(ids)))
        whole, _ = tiny_model(torch.cat((torch.tensor([text]), ids), dim=1))
    assert torch.allclose(behind, whole[:, len(text):], atol=1e-5)
    # a short row is repeated to fill the prefix
    assert torch.equal(from_text(tiny_model, [text[:2]], 4)[0][0], from_text(tiny_model, [text[:2] * 2], 4)[0][0])


def test_a_prefix_job_lowers_heldout_loss_and_reports_base_model_before(tiny_dir, tmp_path):
    u = learnable_user(tmp_path, "u1")
    r = run_job(prefix_job(tiny_dir, [u], lr=1e-1), "cpu")["users"][0]
    lora_job = job(tiny_dir, [dict(u, out_dir=str(tmp_path / "lora"))], steps=1)
    base = run_job(lora_job, "cpu")["users"][0]  # a LoRA starts at zero: its "before" is the base model
    assert r["heldout_loss_before"] == base["heldout_loss_before"]
    assert r["train_loss_before"] == base["train_loss_before"]
    assert r["improved"] and r["heldout_loss_after"] < r["heldout_loss_before"] - 0.05
    assert r["train_loss_after"] < r["train_loss_before"]


def test_many_users_in_one_prefix_job_equal_each_alone(tiny_dir, tmp_path):
    users = [user(tmp_path / "batch", f"u{i}", i) for i in range(3)]
    together = run_job(prefix_job(tiny_dir, users, lr=3e-2), "cpu")
    for i, u in enumerate(users):
        alone = run_job(prefix_job(tiny_dir, [dict(u, out_dir=str(tmp_path / "alone" / u["id"]))], lr=3e-2), "cpu")
        assert alone["users"][0]["best_step"] == together["users"][i]["best_step"]
        a, _ = safetensors_io.load(tmp_path / "alone" / u["id"] / "adapter_model.safetensors")
        b, _ = safetensors_io.load(tmp_path / "batch" / u["id"] / "adapter_model.safetensors")
        assert torch.allclose(a["prompt_embeddings"], b["prompt_embeddings"], atol=1e-4)


def test_when_no_step_improves_the_initial_prefix_is_kept_not_improved(tiny_dir, tmp_path, tiny_model):
    u = dict(learnable_user(tmp_path, "u"), heldout=narrow(7, 3, 11, 50))  # the initial prefix hurts these
    r = run_job(prefix_job(tiny_dir, [u], lr=1e-9), "cpu")["users"][0]
    assert r["best_step"] == 0 and not r["improved"] and r["heldout_loss_after"] == r["heldout_loss_before"]
    tensors, _ = safetensors_io.load(tmp_path / "u" / "adapter_model.safetensors")
    first_row = [0] + u["train"][0]["completion"]
    initial = [(k[0], v[0]) for k, v in from_text(tiny_model, [first_row], 4)]
    assert torch.allclose(tensors["prompt_embeddings"], to_embeddings(initial), atol=1e-6)


@pytest.mark.parametrize("mutate, message", [
    (lambda j: j.update(method="adapter"), "method"),
    (lambda j: j.update(prefix={"num_virtual_tokens": 0}), "num_virtual_tokens"),
    (lambda j: j.update(prefix={"num_virtual_tokens": 65}), "num_virtual_tokens"),
    (lambda j: j.update(prefix={"num_virtual_tokens": 4.0}), "num_virtual_tokens"),
    (lambda j: j.update(prefix={"num_virtual_tokens": True}), "num_virtual_tokens"),
    (lambda j: j.update(prefix={"tokens": 4}), "prefix must be"),
    (lambda j: j.update(prefix=[4]), "prefix must be"),
])
def test_malformed_prefix_jobs_are_refused(tiny_dir, tmp_path, mutate, message):
    j = prefix_job(tiny_dir, [user(tmp_path, "u1", 1)])
    mutate(j)
    with pytest.raises(JobError, match=message):
        run_job(j, "cpu")


def test_prefix_defaults_and_the_lora_key_is_ignored(tiny_dir, tmp_path):
    j = job(tiny_dir, [user(tmp_path, "u1", 1)])
    j.update(method="prefix", lora={"r": "not a number"})
    assert parse_job(j, 97)[0] == PrefixConfig(num_virtual_tokens=16)


@pytest.mark.parametrize("first_method", ["prefix", "lora"])
def test_a_prefix_baseline_is_evaluated_whatever_the_job_trains(tiny_dir, tmp_path, tiny_model, first_method):
    u = learnable_user(tmp_path / "v1", "u1")
    first = run_job(prefix_job(tiny_dir, [u], lr=3e-2), "cpu")["users"][0]
    again = dict(learnable_user(tmp_path / "v2", "u1"), baseline_adapter=first["out_dir"])
    second_job = prefix_job(tiny_dir, [again], steps=1) if first_method == "prefix" else job(tiny_dir, [again], steps=1)
    r = run_job(second_job, "cpu")["users"][0]
    assert r["baseline_heldout_loss"] == pytest.approx(first["heldout_loss_after"], abs=1e-5)
    # and directly: the same loss through the loaded adapter
    data = [{"heldout": parse_job(second_job, 97)[2][0]["heldout"]}]
    direct = eval_users(tiny_model, load_baseline(tiny_model, first["out_dir"], "cpu"), data, "heldout",
                        TrainSettings(max_len=32), 0, "cpu")[0]
    assert r["baseline_heldout_loss"] == pytest.approx(direct, abs=1e-6)
    assert direct < eval_users(tiny_model, NoAdapter(), data, "heldout", TrainSettings(max_len=32), 0, "cpu")[0]


def test_a_malformed_prefix_baseline_is_refused(tiny_dir, tmp_path):
    first = run_job(prefix_job(tiny_dir, [user(tmp_path / "v1", "u1", 1)], steps=1), "cpu")["users"][0]
    path = tmp_path / "v1" / "u1" / "adapter_model.safetensors"
    safetensors_io.save({"prompt_embeddings": torch.zeros(4, 5)}, path, {"format": "pt"})
    with pytest.raises(JobError, match="baseline adapter"):
        run_job(prefix_job(tiny_dir, [dict(user(tmp_path / "v2", "u1", 1), baseline_adapter=first["out_dir"])]),
                "cpu")
    cfg_path = tmp_path / "v1" / "u1" / "adapter_config.json"
    cfg_path.write_text(json.dumps(dict(json.loads(cfg_path.read_text()), prefix_projection=True)))
    with pytest.raises(JobError, match="prefix_projection"):
        run_job(prefix_job(tiny_dir, [dict(user(tmp_path / "v2", "u1", 1), baseline_adapter=first["out_dir"])]),
                "cpu")


def test_golden_prefix_cases_decode_token_by_token_to_their_reference(tiny_dir, tmp_path, tiny_model, tiny_cfg):
    from tailor_trainer.golden import dump_golden

    dump_golden(str(tiny_dir), str(tmp_path / "golden.safetensors"))
    tensors, meta = safetensors_io.load(tmp_path / "golden.safetensors")
    cases = json.loads(meta["cases"])
    assert [c["name"] for c in cases[-3:]] == ["prefix", "prefix_lora", "prefix_decode"]
    assert all(c["prefix_tokens"] == 5 for c in cases[-3:]) and cases[-1]["prompt_len"] == 8
    assert tensors["prefix.prefix"].shape == (5, tiny_cfg.n_layers * 2 * tiny_cfg.n_kv_heads * tiny_cfg.head_dim)
    assert not torch.allclose(tensors["prefix.logits"], tensors["prompt.logits"], atol=1e-2)
    # what the edge does: the prompt whole behind the prefix, then one token at a time through the cache
    ids, n = tensors["prefix_decode.input_ids"], cases[-1]["prompt_len"]
    past = [(k[None], v[None]) for k, v in to_kv(tensors["prefix_decode.prefix"], tiny_cfg)]
    with torch.no_grad():
        logits, past = tiny_model(ids[:, :n], **prefixed(past, torch.ones(1, n, dtype=torch.long)))
        steps = [logits]
        for t in range(n, ids.shape[1]):
            logits, past = tiny_model(ids[:, t : t + 1], past=past)
            steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), tensors["prefix_decode.logits"], atol=1e-5)
