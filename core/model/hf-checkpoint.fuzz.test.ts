// Property-based fuzzing (fast-check, fixed seeds) of the checkpoint reader: random bytes and random JSON for
// config.json, the shard index and the safetensors headers (and the tokenizer files), and a valid checkpoint
// with its fields replaced by random values, header lengths that lie, shard names that escape the directory.
// Whatever it is given, inspectCheckpoint returns a summary or throws a CheckpointError naming a field: never
// another exception, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CheckpointFiles,
  type CheckpointSummary,
  inspectCheckpoint,
} from './hf-checkpoint.js';

const SEED = 20_261_208;
const RUNS = 300;
/** Reading a checkpoint of a few kilobytes that takes longer than this is a hang. */
const SLOW_MS = 1_000;
const utf8 = new TextEncoder();

/** A checkpoint directory in memory (whole files: the safetensors data is zeros). */
class Dir implements CheckpointFiles {
  constructor(readonly files: Map<string, Uint8Array>) {}

  get names(): string[] {
    return [...this.files.keys()];
  }

  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name) ?? null;
  }

  async head(name: string, bytes: number): Promise<Uint8Array | null> {
    return this.files.get(name)?.subarray(0, bytes) ?? null;
  }

  async size(name: string): Promise<number | null> {
    return this.files.get(name)?.byteLength ?? null;
  }
}

function safetensors(header: unknown, dataLen: number, headerLength?: bigint): Uint8Array {
  const head = utf8.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(head.length), true);
  out.set(head, 8);
  return out;
}

const H = 8;
const V = 260;
const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: V,
  hidden_size: H,
  intermediate_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 64,
  hidden_act: 'silu',
  rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  tie_word_embeddings: true,
  bos_token_id: 0,
  eos_token_id: 0,
};

/** A tiny SentencePiece-style tokenizer: <unk> <s> </s>, the 256 byte tokens, ▁. */
function tokenizer(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  vocab['▁'] = 259;
  return {
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: null,
    model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab, merges: [] },
  };
}

/** Tensors of CONFIG, in two shards; the header of each and its data length. */
function shardHeaders(): [string, Record<string, unknown>, number][] {
  const shapes: [string, number[]][][] = [
    [
      ['model.embed_tokens.weight', [V, H]],
      ['model.norm.weight', [H]],
    ],
    [
      ['model.layers.0.self_attn.q_proj.weight', [H, H]],
      ['model.layers.0.self_attn.k_proj.weight', [4, H]],
      ['model.layers.0.mlp.down_proj.weight', [H, 16]],
    ],
  ];
  return shapes.map((tensors, i) => {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let at = 0;
    for (const [name, shape] of tensors) {
      const n = shape.reduce((a, b) => a * b, 1) * 2;
      header[name] = { dtype: 'F16', shape, data_offsets: [at, at + n] };
      at += n;
    }
    return [`model-0000${i + 1}-of-00002.safetensors`, header, at];
  });
}

/** A valid sharded checkpoint, as JSON values (weights as headers) to mutate before it is encoded. */
function checkpoint() {
  const shards = shardHeaders();
  const weightMap: Record<string, unknown> = {};
  for (const [file, header] of shards)
    for (const name of Object.keys(header)) if (name !== '__metadata__') weightMap[name] = file;
  return {
    config: structuredClone(CONFIG) as Record<string, unknown>,
    index: { metadata: {}, weight_map: weightMap } as Record<string, unknown>,
    shards,
    tokenizer: tokenizer(),
    tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', add_bos_token: true } as Record<string, unknown>,
    generation: { eos_token_id: [2] } as Record<string, unknown>,
  };
}

type Checkpoint = ReturnType<typeof checkpoint>;
/** A file's content given as raw bytes instead of the JSON value. */
type Raw = Partial<Record<string, Uint8Array>>;

function encode(c: Checkpoint, raw: Raw = {}): Dir {
  const files = new Map<string, Uint8Array>();
  const json = (name: string, v: unknown) => files.set(name, raw[name] ?? utf8.encode(JSON.stringify(v)));
  json('config.json', c.config);
  json('model.safetensors.index.json', c.index);
  json('tokenizer.json', c.tokenizer);
  json('tokenizer_config.json', c.tokenizerConfig);
  json('generation_config.json', c.generation);
  for (const [file, header, dataLen] of c.shards) files.set(file, raw[file] ?? safetensors(header, dataLen));
  return new Dir(files);
}

/** The summary, or the CheckpointError it threw; anything else fails here. */
async function inspect(dir: CheckpointFiles): Promise<CheckpointSummary | CheckpointError> {
  const t0 = performance.now();
  try {
    const s = await inspectCheckpoint(dir, { servedContext: 32 });
    expect(performance.now() - t0, 'accepted').toBeLessThan(SLOW_MS);
    expect(Number.isSafeInteger(s.params) && s.params >= 0).toBe(true);
    expect(s.tokenizerSize).toBeLessThanOrEqual(s.vocabSize);
    expect(s.context).toBeLessThanOrEqual(32);
    for (const id of s.eosTokenIds) expect(id).toBeLessThan(s.tokenizerSize);
    return s;
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw new Error(`not a CheckpointError: ${String(e)}`, { cause: e });
    expect(performance.now() - t0, `refused: ${e.message}`).toBeLessThan(SLOW_MS);
    expect(e.field.length).toBeGreaterThan(0);
    expect(e.message.length).toBeGreaterThan(0);
    return e;
  }
}

const fast = (salt: number, runs = RUNS) => ({ seed: SEED + salt, numRuns: runs });

/** Values a JSON field can hold, weighted towards the edges a config reader must refuse. */
const edgy = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    0,
    -1,
    1.5,
    2 ** 53,
    1e308,
    Number.MAX_SAFE_INTEGER,
    '',
    'silu',
    'yarn',
    'llama3',
    'linear',
    'default',
    '__proto__',
    'constructor',
    null,
    true,
    false,
    [],
    {},
    [0],
    { type: 'llama3' },
    { rope_type: 'linear', factor: 0 },
  ),
);
const configKey = fc.constantFrom(
  ...Object.keys(CONFIG),
  'head_dim',
  'rope_scaling',
  'rope_theta',
  'sliding_window',
  'use_sliding_window',
  'layer_types',
  'mlp_bias',
  'attention_bias',
  'quantization_config',
  'partial_rotary_factor',
  '__proto__',
  'constructor',
  'toString',
);
const bytes = fc.uint8Array({ maxLength: 256 });
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom('', '{', '[]', 'null', '"x"', '\ufeff{}', `${'['.repeat(50_000)}${']'.repeat(50_000)}`),
);

describe('inspectCheckpoint under fuzzing', () => {
  it('accepts the valid checkpoint it mutates', async () => {
    const s = await inspect(encode(checkpoint()));
    expect(s).not.toBeInstanceOf(CheckpointError);
    expect((s as CheckpointSummary).weightFiles).toHaveLength(2);
  });

  it(`config.json: random bytes and random JSON (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          bytes,
          text.map((t) => utf8.encode(t)),
        ),
        async (b) => {
          await inspect(encode(checkpoint(), { 'config.json': b }));
        },
      ),
      fast(0),
    );
  });

  it(`config.json: fields replaced, removed, nested rope parameters randomised (${RUNS} runs)`, async () => {
    const edit = fc.oneof(
      fc.record({ key: configKey, value: edgy }),
      fc.record({ key: configKey, value: fc.constant(undefined) }),
      fc.record({
        key: fc.constantFrom('rope_parameters', 'rope_scaling'),
        value: fc.dictionary(
          fc.constantFrom(
            'rope_type',
            'type',
            'factor',
            'low_freq_factor',
            'high_freq_factor',
            'original_max_position_embeddings',
            'rope_theta',
            'partial_rotary_factor',
          ),
          edgy,
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 5 }), async (edits) => {
        const c = checkpoint();
        for (const { key, value } of edits) {
          if (value === undefined) delete c.config[key];
          else
            Object.defineProperty(c.config, key, {
              value,
              enumerable: true,
              configurable: true,
              writable: true,
            });
        }
        await inspect(encode(c));
      }),
      fast(1),
    );
  });

  it(`the index: random bytes, random JSON, weight maps with hostile shard names (${RUNS} runs)`, async () => {
    const shard = fc.oneof(
      fc.constantFrom(
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        '../model-00001-of-00002.safetensors',
        'a/b.safetensors',
        'a\\b.safetensors',
        '.safetensors',
        'model.bin',
        '',
        '__proto__',
        'config.json',
        'tokenizer.json',
      ),
      fc.string({ maxLength: 12 }),
      edgy,
    );
    const index = fc.oneof(
      text.map((t) => utf8.encode(t)),
      bytes,
      fc
        .record(
          {
            metadata: edgy,
            weight_map: fc.oneof(
              fc.dictionary(
                fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('model.norm.weight')),
                shard,
                {
                  maxKeys: 6,
                },
              ),
              edgy,
            ),
          },
          { requiredKeys: [] },
        )
        .map((v) => utf8.encode(JSON.stringify(v))),
    );
    await fc.assert(
      fc.asyncProperty(index, async (b) => {
        await inspect(encode(checkpoint(), { 'model.safetensors.index.json': b }));
      }),
      fast(2),
    );
  });

  it(`safetensors headers: random bytes, random entries, lengths that lie (${RUNS} runs)`, async () => {
    const dim = fc.oneof(fc.nat(8), fc.constantFrom(-1, 0.5, 2 ** 53, 1e308, '2', null, [], {}));
    const offset = fc.oneof(fc.nat(300), fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 32, 1e308, '0', null, true));
    const entry = fc.record(
      {
        dtype: fc.oneof(
          fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I8', 'U8', 'f16', '', 'toString', '__proto__'),
          edgy,
        ),
        shape: fc.oneof(fc.array(dim, { maxLength: 6 }), edgy),
        data_offsets: fc.oneof(fc.tuple(offset, offset), fc.array(offset, { maxLength: 4 }), edgy),
      },
      { requiredKeys: [] },
    );
    const name = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '__metadata__',
        '__proto__',
        'constructor',
        'model.norm.weight',
        'model.embed_tokens.weight',
      ),
    );
    const header = fc.oneof(
      fc.dictionary(name, fc.oneof({ arbitrary: entry, weight: 5 }, edgy), { maxKeys: 5 }),
      text,
    );
    const length = fc.option(
      fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(100 * 1024 * 1024 + 1)),
        fc.nat(400).map(BigInt),
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1),
        fc.oneof(
          bytes,
          fc.tuple(header, fc.nat(600), length).map(([h, n, len]) => safetensors(h, n, len)),
        ),
        async (which, b) => {
          const c = checkpoint();
          const file = (c.shards[which] as [string, unknown, number])[0];
          await inspect(encode(c, { [file]: b }));
        },
      ),
      fast(3),
    );
  });

  it(`tokenizer.json, tokenizer_config.json, generation_config.json: random and mutated (${RUNS} runs)`, async () => {
    const file = fc.constantFrom('tokenizer.json', 'tokenizer_config.json', 'generation_config.json');
    const mutation = fc.record({
      path: fc.constantFrom(
        ['model', 'type'],
        ['model', 'byte_fallback'],
        ['model', 'vocab'],
        ['model', 'vocab', '<0x41>'],
        ['model', 'vocab', 'x'],
        ['model'],
        ['added_tokens'],
        ['pre_tokenizer'],
        ['pre_tokenizer', 'type'],
        ['normalizer'],
        ['eos_token'],
        ['bos_token'],
        ['add_bos_token'],
        ['chat_template'],
        ['eos_token_id'],
        ['bos_token_id'],
      ),
      value: edgy,
    });
    await fc.assert(
      fc.asyncProperty(
        file,
        fc.oneof(
          fc.oneof(
            bytes,
            text.map((t) => utf8.encode(t)),
          ),
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
        ),
        async (name, change) => {
          const c = checkpoint();
          if (change instanceof Uint8Array) {
            await inspect(encode(c, { [name]: change }));
            return;
          }
          const target =
            name === 'tokenizer.json'
              ? c.tokenizer
              : name === 'tokenizer_config.json'
                ? c.tokenizerConfig
                : c.generation;
          for (const { path, value } of change) {
            let node: unknown = target;
            for (const key of path.slice(0, -1))
              node =
                typeof node === 'object' && node !== null
                  ? (node as Record<string, unknown>)[key]
                  : undefined;
            if (typeof node === 'object' && node !== null)
              (node as Record<string, unknown>)[path[path.length - 1] as string] = value;
          }
          await inspect(encode(c));
        },
      ),
      fast(4),
    );
  });

  it('refuses a 100 MiB header quickly and reads a header of many tensors', async () => {
    const c = checkpoint();
    const [file] = c.shards[0] as [string, unknown, number];
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, BigInt(100 * 1024 * 1024 + 1), true);
    expect(await inspect(encode(c, { [file]: huge }))).toBeInstanceOf(CheckpointError);
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 5_000; i++) many[`t${i}`] = { dtype: 'F16', shape: [0], data_offsets: [0, 0] };
    Object.assign(many, c.shards[0]?.[1]);
    const s = await inspect(encode(c, { [file]: safetensors(many, c.shards[0]?.[2] ?? 0) }));
    expect(s).not.toBeInstanceOf(CheckpointError);
  });
});
