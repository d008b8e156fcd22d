// A minimal Hugging Face Llama checkpoint in memory, as `save_pretrained` lays it out (config.json,
// tokenizer.json — the shipped byte-level one — tokenizer_config.json, model.safetensors with every tensor of
// its config, zeros), for tests of the routes that read checkpoints without the import environment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from '../../core/node/repo.js';
import { writeSafetensors } from '../../engine/testing.js';

export function tinyCheckpoint(): Record<string, Uint8Array> {
  const hidden = 16;
  const ffn = 32;
  const vocab = 4096;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: ffn,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 256,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 0,
  };
  const zeros = (...shape: number[]) => ({
    dtype: 'F32' as const,
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });
  const kv = hidden / 2;
  const weights = writeSafetensors({
    'model.embed_tokens.weight': zeros(vocab, hidden),
    'model.layers.0.input_layernorm.weight': zeros(hidden),
    'model.layers.0.post_attention_layernorm.weight': zeros(hidden),
    'model.layers.0.self_attn.q_proj.weight': zeros(hidden, hidden),
    'model.layers.0.self_attn.k_proj.weight': zeros(kv, hidden),
    'model.layers.0.self_attn.v_proj.weight': zeros(kv, hidden),
    'model.layers.0.self_attn.o_proj.weight': zeros(hidden, hidden),
    'model.layers.0.mlp.gate_proj.weight': zeros(ffn, hidden),
    'model.layers.0.mlp.up_proj.weight': zeros(ffn, hidden),
    'model.layers.0.mlp.down_proj.weight': zeros(hidden, ffn),
    'model.norm.weight': zeros(hidden),
  });
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  return {
    'config.json': json(config),
    'tokenizer.json': new Uint8Array(readFileSync(join(MODELS_DIR, 'brown-4m', 'tokenizer.json'))),
    'tokenizer_config.json': json({
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      add_bos_token: true,
    }),
    'model.safetensors': weights,
  };
}
