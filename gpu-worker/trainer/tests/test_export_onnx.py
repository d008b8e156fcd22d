import onnx
import pytest

from tailor_trainer.export_onnx import export_base_only, export_lora_graph


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_lora_graph_inputs_outputs_and_rank_axes(tiny_dir, tiny_cfg):
    path = export_lora_graph(str(tiny_dir), None)
    g = onnx.load(str(path)).graph
    inputs = {i.name: dims(i) for i in g.input}
    outputs = [o.name for o in g.output]
    assert list(inputs)[:3] == ["input_ids", "attention_mask", "position_ids"]
    assert inputs["past_key_values.1.value"] == ["batch_size", 2, "past_sequence_length", 8]
    assert outputs == ["logits"] + [f"present.{i}.{k}" for i in range(2) for k in ("key", "value")]
    lora = [n for n in inputs if ".lora_" in n]
    assert len(lora) == 2 * 7 * tiny_cfg.n_layers
    assert inputs["model.layers.0.self_attn.q_proj.lora_A.weight"] == ["lora_batch", "rank_0", 32]
    assert inputs["model.layers.0.self_attn.q_proj.lora_B.weight"] == ["lora_batch", 32, "rank_0"]
    assert inputs["model.layers.1.mlp.down_proj.lora_A.weight"] == ["lora_batch", "rank_13", 48]
    ranks = {v[1] for n, v in inputs.items() if n.endswith("lora_A.weight")}
    assert len(ranks) == len(lora) // 2  # every pair has its own rank axis
    assert not {i.name for i in g.initializer} & set(inputs)  # no input has a default initializer


def test_graph_has_static_head_reshapes_and_no_kv_expand(tiny_dir):
    g = onnx.load(str(export_lora_graph(str(tiny_dir), None))).graph
    ops = [n.op_type for n in g.node]
    assert "Expand" not in ops  # grouped-query attention broadcasts K and V instead of copying them
    static = {i.name for i in g.initializer}
    reshapes = [n for n in g.node if n.op_type == "Reshape"]
    assert reshapes and all(n.input[1] in static for n in reshapes)  # no shape arithmetic left per step
    assert ops.count("Shape") <= 2  # only the causal mask still reads a shape, once per run


def test_base_only_folder_layout(tiny_dir, tmp_path):
    (tiny_dir / "tokenizer.json").write_text("{}")
    (tiny_dir / "tokenizer_config.json").write_text("{}")
    export_base_only(str(tiny_dir), str(tmp_path / "hf"))
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "onnx/model.onnx"):
        assert (tmp_path / "hf" / f).exists(), f
    g = onnx.load(str(tmp_path / "hf" / "onnx" / "model.onnx")).graph
    assert not [i.name for i in g.input if ".lora_" in i.name]
    assert len(g.input) == 3 + 2 * 2
