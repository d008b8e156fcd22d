// A base model package's shape as config.json states it: what the engine, the trainer's orchestrator and the
// adapter reader all read (Hugging Face LlamaConfig fields plus Tailor's `tailor` section).

/** The config.json fields Tailor relies on (Hugging Face LlamaConfig + the `tailor` section). */
export interface BaseModelConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings: number;
  tailor: {
    lora_targets: string[];
    max_lora_rank: number;
    /** The Brown files the base model trained on, and those it never saw (evaluation, demo readers). */
    splits?: { train: string[]; heldout: string[] };
    /** replay.bin: windows of training text mixed into user training. */
    replay?: { file: string; windows: number; length: number; dtype?: string };
    /** Imported bases: every token that ends a text (config.json's and generation_config.json's EOS ids). */
    eos_ids?: number[];
    /** Imported bases: the served graph's weights, when not fp32. */
    quantized?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface DecoderShape {
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** LoRA target module paths in graph-input order, e.g. `model.layers.0.self_attn.q_proj`. */
  loraModules: string[];
  /** [in, out] features of each module in `loraModules`. */
  loraShapes: [number, number][];
}

/** The decoder's shape from config.json: layers, heads, and every LoRA target module with its [in, out]. */
export function decoderShapeFromConfig(config: {
  num_hidden_layers: number;
  num_key_value_heads?: number;
  num_attention_heads: number;
  hidden_size: number;
  intermediate_size: number;
  vocab_size: number;
  head_dim?: number;
  tailor?: { lora_targets?: string[] };
}): DecoderShape {
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? config.num_attention_heads;
  const c = config.hidden_size;
  const kv = kvHeads * headDim;
  const f = config.intermediate_size;
  const dims: Record<string, [string, number, number]> = {
    q_proj: ['self_attn', c, config.num_attention_heads * headDim],
    k_proj: ['self_attn', c, kv],
    v_proj: ['self_attn', c, kv],
    o_proj: ['self_attn', config.num_attention_heads * headDim, c],
    gate_proj: ['mlp', c, f],
    up_proj: ['mlp', c, f],
    down_proj: ['mlp', f, c],
  };
  const targets = config.tailor?.lora_targets ?? Object.keys(dims);
  const loraModules: string[] = [];
  const loraShapes: [number, number][] = [];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    for (const t of targets) {
      const d = dims[t];
      if (!d) throw new Error(`unknown LoRA target ${t}`);
      loraModules.push(`model.layers.${i}.${d[0]}.${t}`);
      loraShapes.push([d[1], d[2]]);
    }
  }
  return {
    nLayers: config.num_hidden_layers,
    nKvHeads: kvHeads,
    headDim,
    vocabSize: config.vocab_size,
    loraModules,
    loraShapes,
  };
}
