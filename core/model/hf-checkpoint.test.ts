// The strict checkpoint reader: two checkpoints transformers wrote (their JSON files are in fixtures/: a sharded
// fp16 Llama with byte-level BPE, a Mistral with a SentencePiece-style tokenizer), safetensors headers built here
// from their configs, then every refusal, each named by field and value.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CheckpointFiles,
  type CheckpointSummary,
  inspectCheckpoint,
  tokenizerStyle,
} from './hf-checkpoint.js';
import { bytesToUnicode, TextTokenizer, type TokenizerJson } from './tokenizer.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (path: string): any => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));
const utf8 = new TextEncoder();
const SERVED = 512;

type Spec = { dtype: string; shape: number[] };
const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1, I32: 4 };

/** A checkpoint directory in memory. A safetensors file holds only its header; its size counts the data. */
class Dir implements CheckpointFiles {
  private readonly files = new Map<string, { bytes: Uint8Array; size: number }>();

  get names(): string[] {
    return [...this.files.keys()];
  }

  put(name: string, bytes: Uint8Array, size = bytes.byteLength): this {
    this.files.set(name, { bytes, size });
    return this;
  }

  text(name: string, text: string): this {
    return this.put(name, utf8.encode(text));
  }

  json(name: string, value: unknown): this {
    return this.text(name, JSON.stringify(value));
  }

  remove(...names: string[]): this {
    for (const n of names) this.files.delete(n);
    return this;
  }

  get(name: string): any {
    const f = this.files.get(name);
    if (!f) throw new Error(`no ${name}`);
    return JSON.parse(new TextDecoder().decode(f.bytes));
  }

  edit(name: string, change: (v: any) => void): this {
    const v = this.get(name);
    change(v);
    return this.json(name, v);
  }

  /** A safetensors file from its header (as an object or raw text) and the length of its data. */
  safetensors(name: string, header: unknown, dataLen: number, headerLength?: bigint): this {
    const head = utf8.encode(typeof header === 'string' ? header : JSON.stringify(header));
    const bytes = new Uint8Array(8 + head.length);
    new DataView(bytes.buffer).setBigUint64(0, headerLength ?? BigInt(head.length), true);
    bytes.set(head, 8);
    return this.put(name, bytes, bytes.length + dataLen);
  }

  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name)?.bytes ?? null;
  }

  async head(name: string, bytes: number): Promise<Uint8Array | null> {
    return this.files.get(name)?.bytes.subarray(0, bytes) ?? null;
  }

  async size(name: string): Promise<number | null> {
    return this.files.get(name)?.size ?? null;
  }
}

/** A header laying `tensors` out one after the other, and the data length it needs. */
function layout(tensors: Record<string, Spec>): { header: Record<string, unknown>; dataLen: number } {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const [name, { dtype, shape }] of Object.entries(tensors)) {
    const n = shape.reduce((a, b) => a * b, 1) * (BYTES[dtype] ?? 4);
    header[name] = { dtype, shape, data_offsets: [at, at + n] };
    at += n;
  }
  return { header, dataLen: at };
}

/** The tensors transformers saves for a Llama-shaped config (q/k/v/o, gate/up/down, norms, head unless tied). */
function llamaTensors(c: any, dtype: string): Record<string, Spec> {
  const h = c.hidden_size;
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? h / heads;
  const f = c.intermediate_size;
  const shapes: Record<string, number[]> = {
    'model.embed_tokens.weight': [c.vocab_size, h],
    'model.norm.weight': [h],
  };
  if (!c.tie_word_embeddings) shapes['lm_head.weight'] = [c.vocab_size, h];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [h],
      [`${p}.post_attention_layernorm.weight`]: [h],
      [`${p}.self_attn.q_proj.weight`]: [heads * hd, h],
      [`${p}.self_attn.k_proj.weight`]: [kv * hd, h],
      [`${p}.self_attn.v_proj.weight`]: [kv * hd, h],
      [`${p}.self_attn.o_proj.weight`]: [h, heads * hd],
      [`${p}.mlp.gate_proj.weight`]: [f, h],
      [`${p}.mlp.up_proj.weight`]: [f, h],
      [`${p}.mlp.down_proj.weight`]: [h, f],
    });
  }
  return Object.fromEntries(Object.entries(shapes).map(([n, shape]) => [n, { dtype, shape }]));
}

/** A minimal byte-level BPE tokenizer.json: <|endoftext|> at 0, then the 256 byte symbols (no merges). */
function byteLevelTokenizer(): TokenizerJson {
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  bytesToUnicode().forEach((s, b) => {
    vocab[s] = b + 1;
  });
  const model = { type: 'BPE', byte_fallback: false, vocab, merges: [] };
  return {
    version: '1.0',
    added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }],
    normalizer: null,
    post_processor: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model,
  };
}

/** llama-untied-fp16-sharded as transformers wrote it: three fp16 shards named by the index. */
function llama(): Dir {
  const F = 'llama-untied-fp16-sharded/';
  const dir = new Dir()
    .json('config.json', fixture(`${F}config.json`))
    .json('tokenizer_config.json', fixture(`${F}tokenizer_config.json`))
    .json('generation_config.json', fixture(`${F}generation_config.json`))
    .json('model.safetensors.index.json', fixture(`${F}model.safetensors.index.json`))
    .json('tokenizer.json', byteLevelTokenizer());
  const all = llamaTensors(dir.get('config.json'), 'F16');
  const byShard = new Map<string, Record<string, Spec>>();
  for (const [tensor, shard] of Object.entries(
    dir.get('model.safetensors.index.json').weight_map as Record<string, string>,
  )) {
    const specs = byShard.get(shard) ?? {};
    specs[tensor] = all[tensor] as Spec;
    byShard.set(shard, specs);
  }
  for (const [shard, specs] of byShard) {
    const { header, dataLen } = layout(specs);
    dir.safetensors(shard, header, dataLen);
  }
  return dir;
}

/** The mistral checkpoint: one fp32 model.safetensors and the SentencePiece-style tokenizer. */
function mistral(): Dir {
  const dir = new Dir()
    .json('config.json', fixture('mistral/config.json'))
    .json('tokenizer_config.json', fixture('mistral/tokenizer_config.json'))
    .json('generation_config.json', fixture('mistral/generation_config.json'))
    .json('tokenizer.json', fixture('sentencepiece-tokenizer.json'));
  const { header, dataLen } = layout(llamaTensors(dir.get('config.json'), 'F32'));
  return dir.safetensors('model.safetensors', header, dataLen);
}

/** The llama checkpoint made a Qwen2 one (single file, tied, no bos). */
function qwen2(): Dir {
  const dir = llama()
    .remove(
      'model.safetensors.index.json',
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    )
    .edit('config.json', (c) => {
      c.architectures = ['Qwen2ForCausalLM'];
      c.model_type = 'qwen2';
      c.tie_word_embeddings = true;
      c.bos_token_id = null;
      c.use_sliding_window = false;
      c.sliding_window = null;
      c.layer_types = ['full_attention', 'full_attention'];
      delete c.mlp_bias;
    })
    .edit('tokenizer_config.json', (t) => {
      t.bos_token = null;
      t.add_bos_token = false;
    })
    .edit('generation_config.json', (g) => delete g.bos_token_id);
  const { header, dataLen } = layout(llamaTensors(dir.get('config.json'), 'F32'));
  return dir.safetensors('model.safetensors', header, dataLen);
}

const inspect = (dir: CheckpointFiles, servedContext = SERVED): Promise<CheckpointSummary> =>
  inspectCheckpoint(dir, { servedContext });

async function refusal(dir: CheckpointFiles, servedContext = SERVED): Promise<CheckpointError> {
  try {
    await inspect(dir, servedContext);
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw e;
  }
  throw new Error('the checkpoint was accepted');
}

async function expectRefused(dir: CheckpointFiles, field: string, message: string | RegExp): Promise<void> {
  const e = await refusal(dir);
  expect(e.field, e.message).toBe(field);
  if (typeof message === 'string') expect(e.message).toContain(message);
  else expect(e.message).toMatch(message);
}

const editConfig = (dir: Dir, change: (c: any) => void): Dir => dir.edit('config.json', change);

describe('accepts the checkpoints transformers writes', () => {
  it('llama-untied-fp16-sharded: three fp16 shards, byte-level BPE, padded embedding rows', async () => {
    expect(await inspect(llama())).toEqual({
      family: 'llama',
      architecture: 'LlamaForCausalLM',
      dtype: 'float16',
      params: 592_192, // what the index's metadata says transformers counted
      weightFiles: [
        'model-00001-of-00003.safetensors',
        'model-00002-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
      ],
      tokenizer: 'byte-level',
      vocabSize: 4096,
      tokenizerSize: 257,
      context: 512,
      hasChatTemplate: true,
      addBos: true,
      bosTokenId: 0,
      eosTokenIds: [0],
    } satisfies CheckpointSummary);
    expect(fixture('llama-untied-fp16-sharded/model.safetensors.index.json').metadata.total_parameters).toBe(
      592_192,
    );
  });

  it('mistral: one fp32 file, SentencePiece-style BPE, sliding_window null', async () => {
    expect(await inspect(mistral())).toEqual({
      family: 'mistral',
      architecture: 'MistralForCausalLM',
      dtype: 'float32',
      params: 133_440,
      weightFiles: ['model.safetensors'],
      tokenizer: 'sentencepiece',
      vocabSize: 512,
      tokenizerSize: 512,
      context: 512,
      hasChatTemplate: true,
      addBos: true,
      bosTokenId: 1,
      eosTokenIds: [2],
    } satisfies CheckpointSummary);
  });

  it('qwen2: tied, no bos token, add_bos_token false', async () => {
    const s = await inspect(qwen2());
    expect(s).toMatchObject({ family: 'qwen2', addBos: false, bosTokenId: null, eosTokenIds: [0] });
  });

  it('TextTokenizer loads both tokenizers the reader accepted', () => {
    const spm = new TextTokenizer(
      fixture('sentencepiece-tokenizer.json'),
      fixture('mistral/tokenizer_config.json'),
    );
    expect([spm.style, spm.vocabSize, spm.bosId, spm.eosId]).toEqual(['sentencepiece', 512, 1, 2]);
    const bytes = new TextTokenizer(
      byteLevelTokenizer(),
      fixture('llama-untied-fp16-sharded/tokenizer_config.json'),
    );
    expect([bytes.style, bytes.vocabSize, bytes.eosId]).toEqual(['byte-level', 257, 0]);
  });

  it('context is the served context or max_position_embeddings, whichever is shorter', async () => {
    expect((await inspect(llama(), 4096)).context).toBe(1024);
    expect((await inspect(llama(), 100)).context).toBe(100);
    await expect(inspect(llama(), 0)).rejects.toThrow(RangeError);
  });

  it('older config.json: rope_theta with rope_scaling null, linear, llama3 (type or rope_type)', async () => {
    const legacy = (scaling: unknown) =>
      editConfig(llama(), (c) => {
        delete c.rope_parameters;
        c.rope_theta = 500000;
        c.rope_scaling = scaling;
      });
    await inspect(legacy(null));
    await inspect(legacy({ type: 'linear', factor: 2 }));
    await inspect(legacy({ type: 'default' }));
    await inspect(
      legacy({
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      }),
    );
    await inspect(editConfig(llama(), (c) => delete c.rope_parameters));
  });

  it('transformers 5 rope_parameters: linear and llama3', async () => {
    await inspect(
      editConfig(llama(), (c) => (c.rope_parameters = { rope_type: 'linear', factor: 2, rope_theta: 1e4 })),
    );
    await inspect(
      editConfig(llama(), (c) => {
        c.rope_parameters = {
          rope_type: 'llama3',
          rope_theta: 500000,
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 64,
        };
      }),
    );
    await inspect(editConfig(llama(), (c) => (c.rope_parameters = { rope_theta: 1e4 })));
  });

  it('head_dim null or absent when hidden_size divides; num_key_value_heads absent means one per head', async () => {
    await inspect(editConfig(llama(), (c) => (c.head_dim = null)));
    await inspect(editConfig(llama(), (c) => delete c.head_dim));
    await inspect(editConfig(llama(), (c) => delete c.num_key_value_heads));
    await inspect(editConfig(llama(), (c) => delete c.hidden_act)); // transformers' default: silu
  });

  it('pickled files beside safetensors are ignored', async () => {
    const dir = llama().put('training_args.bin', new Uint8Array([0x80, 0x04]));
    expect((await inspect(dir)).dtype).toBe('float16');
  });
});

describe('refuses config.json', () => {
  it('missing, not JSON, not an object', async () => {
    await expectRefused(llama().remove('config.json'), 'config.json', 'config.json is missing');
    await expectRefused(llama().text('config.json', '{"vocab_size": '), 'config.json', 'not valid JSON');
    await expectRefused(llama().text('config.json', '[1, 2]'), 'config.json', 'not a JSON object');
    await expectRefused(llama().put('config.json', new Uint8Array([0xff, 0xfe])), 'config.json', 'UTF-8');
  });

  it('an unsupported architecture, or a model_type that does not match it', async () => {
    await expectRefused(
      editConfig(llama(), (c) => (c.architectures = ['GPT2LMHeadModel'])),
      'architectures',
      'architectures[0] "GPT2LMHeadModel" is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)',
    );
    await expectRefused(
      editConfig(llama(), (c) => delete c.architectures),
      'architectures',
      'absent',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.architectures = [])),
      'architectures',
      '[]',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.model_type = 'mistral')),
      'model_type',
      'model_type "mistral" does not match LlamaForCausalLM (expected "llama")',
    );
  });

  it.each([
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'max_position_embeddings',
  ])('%s that is not a positive integer', async (key) => {
    for (const bad of [0, -4, 1.5, '64', null, undefined, 2 ** 53]) {
      await expectRefused(
        editConfig(llama(), (c) => (c[key] = bad)),
        key,
        `${key} must be a positive integer (got ${bad === undefined ? 'absent' : JSON.stringify(bad)})`,
      );
    }
  });

  it('num_key_value_heads that does not divide the heads; head_dim odd or not derivable', async () => {
    await expectRefused(
      editConfig(llama(), (c) => (c.num_key_value_heads = 3)),
      'num_key_value_heads',
      'num_key_value_heads 3 does not divide num_attention_heads 4',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.num_key_value_heads = 0)),
      'num_key_value_heads',
      'must be a positive integer',
    );
    await expectRefused(
      editConfig(llama(), (c) => {
        c.hidden_size = 66;
        delete c.head_dim;
      }),
      'hidden_size',
      'hidden_size 66 is not a multiple of num_attention_heads 4, and no head_dim is given',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.head_dim = 15)),
      'head_dim',
      'head_dim 15 is odd',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.head_dim = '16')),
      'head_dim',
      'positive integer',
    );
  });

  it('hidden_act other than silu, mlp_bias, non-boolean flags, quantization', async () => {
    await expectRefused(
      editConfig(llama(), (c) => (c.hidden_act = 'gelu')),
      'hidden_act',
      'hidden_act "gelu" is not supported',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.mlp_bias = true)),
      'mlp_bias',
      'mlp_bias true is not supported',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.tie_word_embeddings = 'yes')),
      'tie_word_embeddings',
      'tie_word_embeddings must be true or false (got "yes")',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.attention_bias = 1)),
      'attention_bias',
      'attention_bias must be true or false',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.quantization_config = { quant_method: 'gptq', bits: 4 })),
      'quantization_config',
      'is not supported: import the unquantized checkpoint',
    );
  });

  it('rotary scaling other than default, linear and llama3 (rope_parameters or rope_scaling)', async () => {
    const supported = '(supported: default, linear, llama3)';
    await expectRefused(
      editConfig(llama(), (c) => (c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 1e4 })),
      'rope_scaling.type',
      `rope_scaling.type "yarn" is not supported ${supported}`,
    );
    for (const scaling of [
      { type: 'dynamic', factor: 2 },
      { rope_type: 'longrope' },
      { type: 'yarn', factor: 4 },
    ]) {
      await expectRefused(
        editConfig(llama(), (c) => {
          delete c.rope_parameters;
          c.rope_theta = 1e4;
          c.rope_scaling = scaling;
        }),
        'rope_scaling.type',
        `rope_scaling.type "${'type' in scaling ? scaling.type : scaling.rope_type}" is not supported ${supported}`,
      );
    }
    await expectRefused(
      editConfig(llama(), (c) => {
        delete c.rope_parameters;
        c.rope_scaling = { factor: 2 };
      }),
      'rope_scaling.type',
      'rope_scaling.type is absent',
    );
    await expectRefused(
      editConfig(llama(), (c) => {
        c.rope_parameters = {
          full_attention: { rope_type: 'yarn' },
          sliding_attention: { rope_type: 'default' },
        };
      }),
      'rope_scaling.type',
      'absent',
    );
    await expectRefused(
      editConfig(llama(), (c) => {
        delete c.rope_parameters;
        c.rope_scaling = 'linear';
      }),
      'rope_scaling',
      'rope_scaling "linear" is not an object',
    );
  });

  it('rotary parameters that are missing or out of range', async () => {
    const rope = (p: Record<string, unknown>) => editConfig(llama(), (c) => (c.rope_parameters = p));
    await expectRefused(
      rope({ rope_type: 'linear', factor: 0 }),
      'rope_scaling.factor',
      'rope_scaling.factor must be a positive number for linear (got 0)',
    );
    await expectRefused(rope({ rope_type: 'linear' }), 'rope_scaling.factor', '(got absent)');
    const llama3 = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 64,
    };
    for (const key of ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      await expectRefused(
        rope({ ...llama3, [key]: undefined }),
        `rope_scaling.${key}`,
        'must be a positive number',
      );
      await expectRefused(rope({ ...llama3, [key]: -1 }), `rope_scaling.${key}`, '(got -1)');
    }
    await expectRefused(
      rope({ ...llama3, low_freq_factor: 4, high_freq_factor: 4 }),
      'rope_scaling.high_freq_factor',
      'must be greater than low_freq_factor 4',
    );
    await expectRefused(
      rope({ rope_type: 'default', rope_theta: -1 }),
      'rope_theta',
      'rope_theta must be a positive number (got -1)',
    );
    await expectRefused(
      editConfig(llama(), (c) => (c.partial_rotary_factor = 0.5)),
      'partial_rotary_factor',
      'partial_rotary_factor 0.5 is not supported',
    );
    await expectRefused(rope({ rope_type: 'yarn', factor: 4 }), 'rope_scaling.type', '"yarn"');
    await expectRefused(
      editConfig(llama(), (c) => (c.rope_parameters = [1])),
      'rope_parameters',
      'rope_parameters [1] is not an object',
    );
  });

  it('Mistral: a sliding window shorter than the context', async () => {
    const windowed = (w: unknown) => editConfig(mistral(), (c) => (c.sliding_window = w));
    await expectRefused(
      windowed(256),
      'sliding_window',
      'sliding_window 256 is shorter than the served context 512: sliding-window attention is not supported',
    );
    await expectRefused(windowed('4096'), 'sliding_window', 'positive integer or null (got "4096")');
    await inspect(windowed(512));
    await inspect(windowed(4096));
    expect((await inspect(windowed(256), 128)).context).toBe(128);
    await inspect(editConfig(mistral(), (c) => delete c.sliding_window));
  });

  it('Qwen2: use_sliding_window with a window shorter than the context', async () => {
    const qwen = (change: (c: any) => void) => editConfig(qwen2(), change);
    await expectRefused(
      qwen((c) => {
        c.use_sliding_window = true;
        c.sliding_window = 256;
      }),
      'sliding_window',
      'sliding_window 256 is shorter than the served context 512',
    );
    await inspect(qwen((c) => (c.sliding_window = 256))); // use_sliding_window false: the window is unused
    await inspect(
      qwen((c) => {
        c.use_sliding_window = true;
        c.sliding_window = 32768;
      }),
    );
    await expectRefused(
      qwen((c) => {
        c.sliding_window = 256;
        c.layer_types = ['full_attention', 'sliding_attention'];
      }),
      'sliding_window',
      'shorter than the served context',
    );
    await expectRefused(
      qwen((c) => (c.layer_types = ['full_attention'])),
      'layer_types',
      'not a list of 2',
    );
    await expectRefused(
      qwen((c) => (c.use_sliding_window = 'no')),
      'use_sliding_window',
      'true or false',
    );
  });
});

describe('refuses weights', () => {
  const single = () => qwen2();
  const shards = [
    'model-00001-of-00003.safetensors',
    'model-00002-of-00003.safetensors',
    'model-00003-of-00003.safetensors',
  ];

  it('pickled weights only: never unpickled', async () => {
    for (const name of [
      'pytorch_model.bin',
      'model.pt',
      'consolidated.00.pth',
      'model.ckpt',
      'weights.pkl',
    ]) {
      const dir = single()
        .remove('model.safetensors')
        .put(name, new Uint8Array([0x80, 0x02]));
      const e = await refusal(dir);
      expect(e.field).toBe('weights');
      expect(e.message).toContain(`${name}: pickled weights are never unpickled`);
      expect(e.message).toContain('safe_serialization=True');
    }
  });

  it('no weights at all, or both a single file and an index', async () => {
    await expectRefused(
      single().remove('model.safetensors'),
      'weights',
      'neither model.safetensors nor model.safetensors.index.json is present',
    );
    const both = llama().put('model.safetensors', new Uint8Array(8));
    await expectRefused(
      both,
      'weights',
      'both model.safetensors and model.safetensors.index.json are present',
    );
  });

  it('an index that is not JSON or has no weight_map object', async () => {
    const I = 'model.safetensors.index.json';
    await expectRefused(llama().text(I, '{'), I, 'not valid JSON');
    await expectRefused(llama().json(I, [1]), I, 'not a JSON object');
    await expectRefused(llama().json(I, { metadata: {} }), 'weight_map', 'weight_map is not an object');
    await expectRefused(
      llama().json(I, { weight_map: [shards[0]] }),
      'weight_map',
      'weight_map is not an object',
    );
    await expectRefused(llama().json(I, { weight_map: {} }), 'weight_map', 'names no tensors');
  });

  it.each([
    ['../model-00001-of-00003.safetensors', 'not a plain file name'],
    ['sub/model-00001-of-00003.safetensors', 'not a plain file name'],
    ['sub\\model-00001-of-00003.safetensors', 'not a plain file name'],
    ['.model.safetensors', 'not a plain file name'],
    ['model..safetensors', 'not a plain file name'],
    ['model-00001-of-00003.bin', 'not a .safetensors file'],
    ['model\u0000.safetensors', 'control characters'],
    [7, 'not a file name'],
  ])('a shard named %j', async (shard, why) => {
    const dir = llama().edit('model.safetensors.index.json', (i) => {
      i.weight_map['model.norm.weight'] = shard;
    });
    const e = await refusal(dir);
    expect(e.field).toBe('weight_map');
    expect(e.message).toContain(`maps model.norm.weight to ${JSON.stringify(shard)}`);
    expect(e.message).toContain(why);
  });

  it('a shard the directory lacks; a mapped tensor its shard does not hold; a tensor in two shards', async () => {
    await expectRefused(
      llama().remove(shards[2] as string),
      'weight_map',
      `shard "${shards[2]}" (holding model.layers.0.input_layernorm.weight) is not in the checkpoint directory`,
    );
    await expectRefused(
      llama().edit('model.safetensors.index.json', (i) => (i.weight_map['model.extra.weight'] = shards[0])),
      'model.extra.weight',
      `maps model.extra.weight to ${shards[0]}, whose header has no such tensor`,
    );
    const { header, dataLen } = layout({ 'model.norm.weight': { dtype: 'F16', shape: [64] } });
    await expectRefused(
      llama().safetensors(shards[0] as string, header, dataLen),
      'model.norm.weight',
      'stored twice',
    );
  });

  it('a header length over 100 MiB, past the end of the file, or a header that is not a JSON object', async () => {
    const M = 'model.safetensors';
    await expectRefused(
      single().safetensors(M, '{}', 0, BigInt(100 * 1024 * 1024 + 1)),
      M,
      'over the limit of 104857600 bytes',
    );
    await expectRefused(single().safetensors(M, '{}', 0, 2n ** 64n - 1n), M, 'over the limit');
    await expectRefused(single().safetensors(M, '{}', 0, 4096n), M, 'runs past the end of the file');
    await expectRefused(single().put(M, new Uint8Array(5)), M, 'too short for a safetensors file');
    await expectRefused(single().safetensors(M, '{"a": ', 0), M, 'not UTF-8 JSON');
    await expectRefused(single().safetensors(M, '[]', 0), M, 'not a JSON object');
    await expectRefused(
      single().safetensors(M, { __metadata__: 'pt' }, 0),
      M,
      '__metadata__ is not an object',
    );
    await expectRefused(single().safetensors(M, { __metadata__: {} }, 0), 'weights', 'no tensors');
  });

  it('a tensor whose dtype is not F32, F16 or BF16 (named with the tensor)', async () => {
    for (const dtype of ['F64', 'I8', 'U8', 'F8_E4M3', 'I32']) {
      const { header, dataLen } = layout({ 'lm_head.weight': { dtype, shape: [4, 4] } });
      await expectRefused(
        single().safetensors('model.safetensors', header, dataLen),
        'lm_head.weight',
        `model.safetensors: tensor lm_head.weight has dtype "${dtype}", which is not supported (supported: F32, F16, BF16)`,
      );
    }
  });

  it('bad shapes and data offsets', async () => {
    const M = 'model.safetensors';
    const one = (entry: unknown, dataLen = 64) => single().safetensors(M, { 'w.weight': entry }, dataLen);
    for (const shape of [[-1], [1.5], '4', [[4]], null]) {
      await expectRefused(
        one({ dtype: 'F32', shape, data_offsets: [0, 16] }),
        'w.weight',
        'not a list of non-negative integers',
      );
    }
    for (const offsets of [[0], [0, -16], [0, '16'], null, [0, 16, 32]]) {
      await expectRefused(
        one({ dtype: 'F32', shape: [4], data_offsets: offsets }),
        'w.weight',
        'not two non-negative integers',
      );
    }
    await expectRefused(
      one({ dtype: 'F32', shape: [32], data_offsets: [0, 128] }),
      'w.weight',
      'data_offsets [0, 128] outside its 64 data bytes',
    );
    await expectRefused(
      one({ dtype: 'F32', shape: [4], data_offsets: [16, 0] }),
      'w.weight',
      'outside its 64 data bytes',
    );
    await expectRefused(
      one({ dtype: 'F32', shape: [4], data_offsets: [0, 32] }),
      'w.weight',
      '32 bytes for shape [4] of F32',
    );
    await expectRefused(
      one({ dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 0] }),
      'w.weight',
      'too large',
    );
    await expectRefused(
      single().safetensors(
        M,
        {
          'a.weight': { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
          'b.weight': { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
        },
        64,
      ),
      'b.weight',
      'overlaps a.weight',
    );
  });

  it('tensors in more than one dtype', async () => {
    const { header, dataLen } = layout({
      'model.norm.weight': { dtype: 'F32', shape: [64] },
      'lm_head.weight': { dtype: 'BF16', shape: [4096, 64] },
    });
    await expectRefused(
      single().safetensors('model.safetensors', header, dataLen),
      'dtype',
      'tensors are stored in more than one dtype (BF16, F32): not supported',
    );
  });

  it('reports bf16 and counts every tensor', async () => {
    const { header, dataLen } = layout({
      'model.norm.weight': { dtype: 'BF16', shape: [64] },
      'lm_head.weight': { dtype: 'BF16', shape: [4096, 64] },
      'empty.weight': { dtype: 'BF16', shape: [0, 64] },
    });
    const s = await inspect(single().safetensors('model.safetensors', header, dataLen));
    expect([s.dtype, s.params]).toEqual(['bfloat16', 64 + 4096 * 64]);
  });
});

describe('refuses tokenizer.json', () => {
  const tok = (change: (t: any) => void) => llama().edit('tokenizer.json', change);

  it('missing, not JSON, a model other than BPE', async () => {
    await expectRefused(llama().remove('tokenizer.json'), 'tokenizer.json', 'tokenizer.json is missing');
    await expectRefused(llama().text('tokenizer.json', '{'), 'tokenizer.json', 'not valid JSON');
    await expectRefused(
      tok((t) => (t.model.type = 'Unigram')),
      'model.type',
      'tokenizer.json: model.type "Unigram" is not supported (supported: BPE)',
    );
    await expectRefused(
      tok((t) => (t.model.type = 'WordPiece')),
      'model.type',
      '"WordPiece"',
    );
    await expectRefused(
      tok((t) => delete t.model),
      'model',
      'model is not an object',
    );
  });

  it('BPE that is neither byte-level nor SentencePiece-style', async () => {
    await expectRefused(
      tok((t) => (t.pre_tokenizer = { type: 'Whitespace' })),
      'pre_tokenizer',
      'neither byte-level BPE',
    );
    // Metaspace without byte_fallback: characters outside the vocabulary would become <unk>.
    const noFallback = mistral().edit('tokenizer.json', (t) => (t.model.byte_fallback = false));
    await expectRefused(noFallback, 'pre_tokenizer', 'byte_fallback false');
  });

  it('accepts ByteLevel inside a Sequence (Llama 3) and the legacy Llama normalizer (Prepend + Replace)', async () => {
    const llama3 = tok((t) => {
      t.pre_tokenizer = {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      };
    });
    expect((await inspect(llama3)).tokenizer).toBe('byte-level');
    const legacy = mistral().edit('tokenizer.json', (t) => {
      t.pre_tokenizer = null;
      t.normalizer = {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      };
    });
    expect((await inspect(legacy)).tokenizer).toBe('sentencepiece');
    expect(
      tokenizerStyle({ model: { type: 'BPE', byte_fallback: true }, pre_tokenizer: { type: 'Metaspace' } }),
    ).toBe('sentencepiece');
    expect(tokenizerStyle({ model: { type: 'Unigram' }, pre_tokenizer: { type: 'ByteLevel' } })).toBeNull();
    expect(tokenizerStyle(null)).toBeNull();
  });

  it('a config vocab_size smaller than the tokenizer', async () => {
    await expectRefused(
      editConfig(llama(), (c) => (c.vocab_size = 200)),
      'vocab_size',
      "vocab_size 200 is smaller than the tokenizer's 257 tokens",
    );
  });

  it('ids with a gap, a vocabulary that cannot spell every byte, tokens that are not byte-level', async () => {
    await expectRefused(
      tok((t) => (t.model.vocab.extra = 300)),
      'model.vocab',
      'no token has id 257',
    );
    await expectRefused(
      tok((t) => (t.model.vocab.extra = -1)),
      'model.vocab',
      'the id -1',
    );
    await expectRefused(
      tok((t) => {
        t.model.vocab.AA = t.model.vocab.A;
        delete t.model.vocab.A;
      }),
      'model.vocab',
      'byte-level vocabulary lacks the symbol of byte 65 ("A")',
    );
    await expectRefused(
      tok((t) => (t.model.vocab['two words'] = 257)),
      'model.vocab',
      'token 257 "two words" is not made of byte-level symbols',
    );
    const noByte = mistral().edit('tokenizer.json', (t) => {
      t.model.vocab['<0x41>x'] = t.model.vocab['<0x41>'];
      delete t.model.vocab['<0x41>'];
    });
    await expectRefused(
      noByte,
      'model.vocab',
      'byte_fallback needs the tokens <0x00>…<0xFF>; <0x41> is missing',
    );
    await expectRefused(
      tok((t) => (t.added_tokens = {})),
      'added_tokens',
      'added_tokens is not a list',
    );
    await expectRefused(
      tok((t) => (t.added_tokens = [{ id: 0 }])),
      'added_tokens',
      'has no id and content',
    );
  });
});

describe('tokenizer_config.json, generation_config.json and the special tokens', () => {
  const tc = (dir: Dir, change: (t: any) => void) => dir.edit('tokenizer_config.json', change);

  it('tokenizer_config.json missing or not an object', async () => {
    await expectRefused(
      llama().remove('tokenizer_config.json'),
      'tokenizer_config.json',
      'tokenizer_config.json is missing',
    );
    await expectRefused(
      llama().json('tokenizer_config.json', 'x'),
      'tokenizer_config.json',
      'not a JSON object',
    );
  });

  it('chat_template: a string, a list of {name, template}, chat_template.jinja, or none', async () => {
    const named = tc(llama(), (t) => (t.chat_template = [{ name: 'default', template: '{{ x }}' }]));
    expect((await inspect(named)).hasChatTemplate).toBe(true);
    const none = tc(llama(), (t) => delete t.chat_template);
    expect((await inspect(none)).hasChatTemplate).toBe(false);
    expect((await inspect(none.text('chat_template.jinja', '{{ x }}'))).hasChatTemplate).toBe(true);
    await expectRefused(
      tc(llama(), (t) => (t.chat_template = [{ name: 'default' }])),
      'chat_template',
      'neither a string nor a list of {name, template}',
    );
    await expectRefused(
      tc(llama(), (t) => (t.chat_template = 5)),
      'chat_template',
      'chat_template 5',
    );
  });

  it('add_bos_token: as given, else a bos token id unless Qwen2', async () => {
    expect((await inspect(tc(llama(), (t) => (t.add_bos_token = false)))).addBos).toBe(false);
    expect((await inspect(tc(llama(), (t) => delete t.add_bos_token))).addBos).toBe(true);
    const qwenWithBos = editConfig(
      tc(qwen2(), (t) => delete t.add_bos_token),
      (c) => (c.bos_token_id = 0),
    );
    expect(await inspect(qwenWithBos)).toMatchObject({ addBos: false, bosTokenId: 0 });
  });

  it('add_bos_token true with no bos token anywhere', async () => {
    const dir = editConfig(
      tc(mistral(), (t) => delete t.bos_token),
      (c) => delete c.bos_token_id,
    ).remove('generation_config.json');
    await expectRefused(dir, 'add_bos_token', 'add_bos_token is true but no bos token id is given');
    // The bos token's text is enough when config.json gives no id.
    const byName = editConfig(mistral(), (c) => delete c.bos_token_id).remove('generation_config.json');
    expect((await inspect(byName)).bosTokenId).toBe(1);
  });

  it('eos ids: config.json then generation_config.json, numbers or lists, without repeats', async () => {
    const dir = editConfig(mistral(), (c) => (c.eos_token_id = [2, 5])).edit(
      'generation_config.json',
      (g) => (g.eos_token_id = [5, 9, 2]),
    );
    expect((await inspect(dir)).eosTokenIds).toEqual([2, 5, 9]);
    const genOnly = editConfig(mistral(), (c) => delete c.eos_token_id).edit(
      'generation_config.json',
      (g) => (g.eos_token_id = 7),
    );
    expect((await inspect(genOnly)).eosTokenIds).toEqual([7]);
    const none = editConfig(mistral(), (c) => delete c.eos_token_id).remove('generation_config.json');
    expect((await inspect(none)).eosTokenIds).toEqual([2]); // the tokenizer's eos_token, </s>
  });

  it('eos or bos ids that are not token ids; a generation_config.json that is not an object', async () => {
    await expectRefused(
      editConfig(mistral(), (c) => (c.eos_token_id = 'eos')),
      'eos_token_id',
      'config.json: eos_token_id "eos" is not a token id or a list of them',
    );
    await expectRefused(
      mistral().edit('generation_config.json', (g) => (g.eos_token_id = [2, 512])),
      'eos_token_id',
      'generation_config.json: eos_token_id 512 is not a token of tokenizer.json (512 tokens)',
    );
    await expectRefused(
      editConfig(mistral(), (c) => (c.bos_token_id = [1])),
      'bos_token_id',
      'bos_token_id [1] is not one token id',
    );
    await expectRefused(
      mistral().text('generation_config.json', 'nope'),
      'generation_config.json',
      'not valid JSON',
    );
    await expectRefused(
      mistral().json('generation_config.json', []),
      'generation_config.json',
      'not a JSON object',
    );
  });

  it('eos_token and bos_token texts the tokenizer does not know', async () => {
    await expectRefused(
      tc(mistral(), (t) => (t.eos_token = '<eos>')),
      'eos_token',
      'eos_token "<eos>" is not a token of tokenizer.json',
    );
    await expectRefused(
      tc(mistral(), (t) => delete t.eos_token),
      'eos_token',
      'eos_token absent',
    );
    await expectRefused(
      tc(mistral(), (t) => (t.bos_token = '<bos>')),
      'bos_token',
      '"<bos>"',
    );
    await expectRefused(
      tc(mistral(), (t) => (t.bos_token = 3)),
      'bos_token',
      'bos_token 3 is not a token',
    );
    const addedToken = tc(mistral(), (t) => (t.eos_token = { __type: 'AddedToken', content: '</s>' }));
    expect((await inspect(addedToken)).eosTokenIds).toEqual([2]);
  });
});
