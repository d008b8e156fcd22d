import copy

import torch

from tailor_trainer.model import LlamaForCausalLM, causal_mask


def test_kv_cache_matches_full_forward(tiny_model):
    ids = torch.randint(0, 97, (2, 10))
    full, _ = tiny_model(ids)
    logits, past = tiny_model(ids[:, :6])
    steps = [logits]
    for t in range(6, 10):
        step, past = tiny_model(ids[:, t : t + 1], past=past)
        steps.append(step)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    assert past[0][0].shape == (2, 2, 10, 8)  # kv heads are cached unexpanded


def test_padding_does_not_change_real_positions(tiny_model):
    ids = torch.randint(0, 97, (1, 7))
    alone, _ = tiny_model(ids)
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 7 + [0] * 3])
    out, _ = tiny_model(padded, attention_mask=mask)
    assert torch.allclose(out[:, :7], alone, atol=1e-5)


def test_causal_mask_hides_future_and_padding():
    m = causal_mask(torch.tensor([[1, 1, 1, 0]]), 2)[0, 0]
    assert m.tolist() == [[True, True, True, False], [True, True, True, False]]
    m = causal_mask(torch.ones(1, 3, dtype=torch.long), 3)[0, 0]
    assert m.tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_fresh_lora_changes_nothing_and_trained_one_does(tiny_model):
    ids = torch.randint(0, 97, (1, 8))
    base, _ = tiny_model(ids)
    m = copy.deepcopy(tiny_model)
    for lin in m.lora_linears().values():
        lin.add_adapter(4, 8.0, torch.Generator().manual_seed(0))
    same, _ = m(ids)
    assert torch.equal(same, base)  # B starts at zero, as in PEFT
    for lin in m.lora_linears().values():
        torch.nn.init.normal_(lin.lora_B, std=0.1)
    changed, _ = m(ids)
    assert (changed - base).abs().max() > 1e-3


def test_parameter_lora_equals_fed_lora_equals_merged(tiny_model):
    ids = torch.randint(0, 97, (1, 8))
    m = copy.deepcopy(tiny_model)
    g = torch.Generator().manual_seed(1)
    feed, merged = {}, copy.deepcopy(tiny_model)
    for path, lin in m.lora_linears().items():
        lin.add_adapter(4, 8.0, g)
        torch.nn.init.normal_(lin.lora_B, std=0.1)
        feed[path] = (lin.lora_A.detach(), lin.lora_B.detach() * lin.scaling)
        with torch.no_grad():
            merged.lora_linears()[path].weight += lin.scaling * lin.lora_B @ lin.lora_A
    a, _ = m(ids)
    b, _ = tiny_model(ids, lora=feed)
    c, _ = merged(ids)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-4)


def test_per_row_lora_equals_per_call_lora(tiny_model):
    ids = torch.randint(0, 97, (2, 6))
    g = torch.Generator().manual_seed(2)
    feeds = []
    for _ in range(2):
        feeds.append({p: (torch.randn(3, lin.in_features, generator=g) * 0.1,
                          torch.randn(lin.out_features, 3, generator=g) * 0.1)
                      for p, lin in tiny_model.lora_linears().items()})
    rows = {p: (torch.stack([feeds[0][p][0], feeds[1][p][0]]), torch.stack([feeds[0][p][1], feeds[1][p][1]]))
            for p in feeds[0]}
    both, _ = tiny_model(ids, lora=rows)
    for r in range(2):
        alone, _ = tiny_model(ids[r : r + 1], lora=feeds[r])
        assert torch.allclose(both[r : r + 1], alone, atol=1e-5)


def test_hf_parameter_names(tiny_model):
    names = set(tiny_model.base_state_dict())
    assert "model.embed_tokens.weight" in names and "model.norm.weight" in names
    assert "model.layers.1.self_attn.k_proj.weight" in names and "model.layers.0.mlp.down_proj.weight" in names
    assert "model.layers.0.input_layernorm.weight" in names and "model.layers.0.post_attention_layernorm.weight" in names
    assert not any("rotary" in n for n in names)
    assert tiny_model.num_params() == sum(p.numel() for p in tiny_model.parameters())


def test_config_round_trips_through_hf(tiny_cfg):
    from tailor_trainer.config import ModelConfig

    hf = tiny_cfg.to_hf({"splits": {"train": ["ca01"], "heldout": ["cn01"]}})
    assert hf["model_type"] == "llama" and hf["tie_word_embeddings"] is True
    assert ModelConfig.from_hf(hf) == tiny_cfg


def test_grouped_kv_heads_are_shared(tiny_cfg):
    torch.manual_seed(3)
    m = LlamaForCausalLM(tiny_cfg)
    assert m.model.layers[0].self_attn.k_proj.weight.shape == (2 * 8, 32)
