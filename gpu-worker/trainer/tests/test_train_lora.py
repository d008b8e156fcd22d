import json

import pytest
import torch

from tailor_trainer import safetensors_io
from tailor_trainer.train_lora import JobError, run_job


def examples(seed, n, vocab=97):
    g = torch.Generator().manual_seed(seed)
    return [{"prompt": torch.randint(1, vocab, (3,), generator=g).tolist(),
             "completion": torch.randint(1, vocab, (9,), generator=g).tolist(), "weight": 1.0 + (i % 2)}
            for i in range(n)]


def job(model_dir, users, **train):
    settings = {"steps": 12, "lr": 1e-2, "batch_size": 4, "eval_every": 3, "patience": 10, "max_len": 32}
    settings.update(train)
    return {"version": 1, "base_model": str(model_dir), "lora": {"r": 4, "alpha": 8}, "train": settings,
            "users": users}


def user(tmp_path, name, seed):
    return {"id": name, "out_dir": str(tmp_path / name), "train": examples(seed, 6), "heldout": examples(seed, 6)[:3]}


def test_adapter_files_follow_peft_layout(tiny_dir, tmp_path, tiny_cfg):
    result = run_job(job(tiny_dir, [user(tmp_path, "u1", 1)]), "cpu")
    out = tmp_path / "u1"
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM"
    assert cfg["r"] == 4 and cfg["lora_alpha"] == 8 and cfg["bias"] == "none" and cfg["fan_in_fan_out"] is False
    assert sorted(cfg["target_modules"]) == sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                     "down_proj"])
    tensors, _ = safetensors_io.load(out / "adapter_model.safetensors")
    expected = set()
    for i in range(tiny_cfg.n_layers):
        for group, names in (("self_attn", ["q_proj", "k_proj", "v_proj", "o_proj"]),
                             ("mlp", ["gate_proj", "up_proj", "down_proj"])):
            for t in names:
                for ab in ("lora_A", "lora_B"):
                    expected.add(f"base_model.model.model.layers.{i}.{group}.{t}.{ab}.weight")
    assert set(tensors) == expected
    fin, fout = tiny_cfg.target_shape("down_proj")
    assert tensors["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"].shape == (4, fin)
    assert tensors["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"].shape == (fout, 4)
    r = result["users"][0]
    assert r["heldout_loss_after"] < r["heldout_loss_before"] and r["improved"]


def test_many_users_in_one_batch_equal_each_alone(tiny_dir, tmp_path):
    users = [user(tmp_path / "batch", f"u{i}", i) for i in range(3)]
    together = run_job(job(tiny_dir, users), "cpu")
    for i, u in enumerate(users):
        alone_user = dict(u, out_dir=str(tmp_path / "alone" / u["id"]))
        alone = run_job(job(tiny_dir, [alone_user]), "cpu")
        assert alone["users"][0]["best_step"] == together["users"][i]["best_step"]
        a, _ = safetensors_io.load(tmp_path / "alone" / u["id"] / "adapter_model.safetensors")
        b, _ = safetensors_io.load(tmp_path / "batch" / u["id"] / "adapter_model.safetensors")
        for k in a:
            # float32 summation order differs between batch shapes: equal to rounding, not bitwise
            assert torch.allclose(a[k], b[k], atol=1e-4), (k, (a[k] - b[k]).abs().max().item(), a[k].abs().max().item())


def test_early_stopping_keeps_the_best_heldout_version(tiny_dir, tmp_path):
    u = user(tmp_path, "u1", 5)
    u["heldout"] = examples(99, 4)  # unrelated held-out data: training on u's examples cannot help it for long
    result = run_job(job(tiny_dir, [u], steps=60, lr=5e-2, patience=2), "cpu")
    r = result["users"][0]
    assert result["steps_run"] < 60
    assert r["heldout_loss_after"] <= r["heldout_loss_before"]
    evals = [h["heldout_loss"][0] for h in result["history"] if "heldout_loss" in h]
    assert r["heldout_loss_after"] == pytest.approx(min([r["heldout_loss_before"], *evals]), abs=1e-4)


@pytest.mark.parametrize("mutate, message", [
    (lambda j: j.update(version=2), "contract version"),
    (lambda j: j.update(users=[]), "non-empty"),
    (lambda j: j["users"][0]["train"][0].update(completion=[10_000]), "ids within"),
    (lambda j: j["users"][0]["train"][0].update(weight=-1), "weight"),
    (lambda j: j["train"].update(learning_rate=1), "unknown train settings"),
    (lambda j: j["train"].update(general_tolerance=1.5), "general_tolerance"),
    (lambda j: j["users"][0].update(general=[{"completion": []}]), "general"),
])
def test_malformed_jobs_are_refused(tiny_dir, tmp_path, mutate, message):
    j = job(tiny_dir, [user(tmp_path, "u1", 1)])
    mutate(j)
    with pytest.raises(JobError, match=message):
        run_job(j, "cpu")


def test_baseline_adapter_is_evaluated_on_the_same_heldout_items(tiny_dir, tmp_path):
    first = run_job(job(tiny_dir, [user(tmp_path / "v1", "u1", 3)]), "cpu")["users"][0]
    again = user(tmp_path / "v2", "u1", 3)
    again["baseline_adapter"] = first["out_dir"]
    second = run_job(job(tiny_dir, [again, user(tmp_path / "v2", "u2", 4)], lr=1e-9), "cpu")
    r, other = second["users"]
    # the same held-out items, the same evaluation code: the baseline scores as the first run's kept adapter
    assert r["baseline_heldout_loss"] == pytest.approx(first["heldout_loss_after"], abs=1e-5)
    assert r["baseline_heldout_loss"] < r["heldout_loss_before"]
    assert "baseline_heldout_loss" not in other


def test_a_broken_baseline_adapter_is_refused(tiny_dir, tmp_path):
    u = user(tmp_path, "u1", 1)
    (tmp_path / "empty").mkdir()
    u["baseline_adapter"] = str(tmp_path / "empty")
    with pytest.raises(JobError, match="baseline adapter"):
        run_job(job(tiny_dir, [u]), "cpu")


def test_a_diverging_run_keeps_the_last_finite_best_and_writes_finite_weights(tiny_dir, tmp_path):
    result = run_job(job(tiny_dir, [user(tmp_path, "u1", 1)], lr=1e30), "cpu")
    r = result["users"][0]
    tensors, _ = safetensors_io.load(tmp_path / "u1" / "adapter_model.safetensors")
    assert all(torch.isfinite(t).all() for t in tensors.values())
    assert all(map(lambda x: x == x, (r["heldout_loss_after"], r["train_loss_after"])))  # not NaN


def test_non_finite_losses_fail_the_job_as_diverged(tiny_dir, tmp_path, monkeypatch):
    from tailor_trainer import train_lora

    real = train_lora.eval_users
    monkeypatch.setattr(train_lora, "eval_users", lambda *a, **k: [float("nan") for _ in real(*a, **k)])
    with pytest.raises(train_lora.TrainingDiverged, match="non-finite"):
        run_job(job(tiny_dir, [user(tmp_path, "u1", 1)]), "cpu")


def test_unlikelihood_pushes_the_adapter_away_from_dislikes(tiny_dir, tmp_path):
    disliked = examples(99, 4)

    def nll_of_dislikes(weight):
        u = dict(user(tmp_path / str(weight), "u", 5), dislikes=disliked)
        run_job(job(tiny_dir, [u], unlikelihood=weight), "cpu")
        # The trained adapter as the baseline of a one-step job whose held-out set is the disliked texts.
        probe = {"id": "p", "out_dir": str(tmp_path / f"probe{weight}"), "train": examples(1, 2),
                 "heldout": disliked, "baseline_adapter": u["out_dir"]}
        return run_job(job(tiny_dir, [probe], steps=1), "cpu")["users"][0]["baseline_heldout_loss"]

    assert nll_of_dislikes(5.0) > nll_of_dislikes(0.0) + 0.02


def test_dislikes_are_ignored_without_the_unlikelihood_weight(tiny_dir, tmp_path):
    plain = user(tmp_path / "plain", "u", 6)
    with_dislikes = dict(user(tmp_path / "dis", "u", 6), dislikes=examples(98, 3))
    a = run_job(job(tiny_dir, [plain]), "cpu")["users"][0]
    b = run_job(job(tiny_dir, [with_dislikes]), "cpu")["users"][0]
    assert a["heldout_loss_after"] == b["heldout_loss_after"] and a["best_step"] == b["best_step"]


def narrow(seed, n, low, high):
    """Texts drawn from tokens [low, high) only: training on one range makes another less likely."""
    g = torch.Generator().manual_seed(seed)
    return [{"prompt": [], "completion": torch.randint(low, high, (12,), generator=g).tolist(), "weight": 1.0}
            for _ in range(n)]


def guarded_user(tmp_path, name):
    return {"id": name, "out_dir": str(tmp_path / name), "train": narrow(1, 6, 1, 11), "heldout": narrow(2, 3, 1, 11),
            "general": narrow(50, 8, 50, 97)}


def test_the_general_guard_keeps_only_steps_within_its_tolerance(tiny_dir, tmp_path):
    def run(tolerance):
        u = guarded_user(tmp_path / str(tolerance), "u")
        return run_job(job(tiny_dir, [u], lr=3e-3, eval_every=1, general_tolerance=tolerance), "cpu")

    loose, tight = run(0.9), run(0.005)
    lo, ti = loose["users"][0], tight["users"][0]
    assert lo["general_loss_before"] == ti["general_loss_before"]
    # Unguarded in effect, the best held-out step costs general text more than 0.5 %...
    assert lo["general_loss_after"] > lo["general_loss_before"] * 1.005
    # ...the guard keeps an earlier step that stays within it, and still improves on the user's text.
    assert ti["general_loss_after"] <= ti["general_loss_before"] * 1.005
    assert 0 < ti["best_step"] < lo["best_step"] and ti["improved"]
    assert lo["heldout_loss_after"] < ti["heldout_loss_after"] < ti["heldout_loss_before"]
    kept = [h["general_loss"][0] for h in tight["history"] if h["step"] == ti["best_step"]]
    assert kept == [round(ti["general_loss_after"], 5)]


def test_when_no_step_passes_the_guard_the_adapter_stays_untrained(tiny_dir, tmp_path):
    u = guarded_user(tmp_path, "u")
    r = run_job(job(tiny_dir, [u], lr=1e-2, general_tolerance=0.0), "cpu")["users"][0]
    assert r["best_step"] == 0 and not r["improved"]
    assert r["heldout_loss_after"] == r["heldout_loss_before"] and r["general_loss_after"] == r["general_loss_before"]
    tensors, _ = safetensors_io.load(tmp_path / "u" / "adapter_model.safetensors")
    assert all(not t.any() for k, t in tensors.items() if "lora_B" in k)


def test_users_without_general_windows_are_not_guarded(tiny_dir, tmp_path):
    plain = user(tmp_path / "a", "u", 6)
    r = run_job(job(tiny_dir, [plain, guarded_user(tmp_path / "a", "g")], general_tolerance=0.0), "cpu")
    alone = run_job(job(tiny_dir, [user(tmp_path / "b", "u", 6)]), "cpu")["users"][0]
    assert "general_loss_before" not in r["users"][0] and "general_loss_before" in r["users"][1]
    assert r["users"][0]["best_step"] == alone["best_step"] > 0
