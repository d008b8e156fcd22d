// Prefix adapters (PEFT prefix tuning) on the shipped model: the file's layout, what is refused, and the engine
// serving them — generation and scoring equal the decoder fed the prefix by hand, batched or alone, composed
// with a LoRA, within the context window they share.
import { resolve } from 'node:path';
import type { Tensor } from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../core/node/file-store.js';
import type { AdapterFiles } from './adapter.js';
import { compose, readAdapter } from './conditioning.js';
import type { KVCache } from './decoder.js';
import { Engine } from './engine.js';
import { AdapterError } from './errors.js';
import { concatPrefixes, type PrefixAdapter, parsePrefixAdapter, tilePrefix } from './prefix.js';
import { argmax } from './sampler.js';
import { prefixFiles, randomAdapter, randomPrefix, TestAdapters, writeSafetensors } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const BASE = 'brown-4m';
const adapters = new TestAdapters(BASE);
let engine: Engine;
const limits = () => ({ maxRank: 64, targets: engine.model(BASE).config.tailor.lora_targets });

beforeAll(async () => {
  engine = await Engine.load(new FileStore(root), 'models/brown-4m', { loader: adapters });
}, 60_000);

const prefixRef = (key: string, tokens: number, seed: number, weight?: number) =>
  adapters.ref(key, async () => randomPrefix(engine.model(BASE).shape, { tokens, seed }).files, weight);
const loraRef = (key: string, seed: number) =>
  adapters.ref(key, async () =>
    randomAdapter(engine.model(BASE).shape, {
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'down_proj'],
      seed,
      scale: 0.3,
    }),
  );

function parse(files: AdapterFiles): PrefixAdapter {
  return parsePrefixAdapter(files, engine.model(BASE).shape, {}, engine.model(BASE).contextLength);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** −log p of each token after the first, the decoder fed the prefix by hand (one row, no batching). */
async function manualNlls(
  ids: number[],
  past?: KVCache,
  lora?: Record<string, import('onnxruntime-web').Tensor>,
) {
  const v = engine.model(BASE).shape.vocabSize;
  const { logits } = await engine.model(BASE).decoder.run({ ids: [ids], ...(past ? { past } : {}), lora });
  const out: number[] = [];
  for (let p = 1; p < ids.length; p++) {
    const row = logits.subarray((p - 1) * v, p * v);
    let max = Number.NEGATIVE_INFINITY;
    for (const x of row) max = Math.max(max, x);
    let s = 0;
    for (const x of row) s += Math.exp(x - max);
    out.push(max + Math.log(s) - (row[ids[p] as number] as number));
  }
  return out;
}

describe('the prefix file (PEFT prefix tuning)', () => {
  it("maps prompt_embeddings [P, 2L·K·D] to each layer's keys and values as PEFT's get_prompt does", () => {
    const { nLayers: L, nKvHeads: K, headDim: D } = engine.model(BASE).shape;
    const P = 3;
    const width = L * 2 * K * D;
    const emb = Float32Array.from({ length: P * width }, (_, i) => i);
    const prefix = parse(prefixFiles(engine.model(BASE).shape, emb));
    expect(prefix.length).toBe(P);
    for (const [i, half, k, v, d] of [
      [0, 0, 0, 0, 0],
      [2, 1, 3, 2, 31],
      [L - 1, 1, K - 1, P - 1, D - 1],
      [1, 0, 2, 1, 7],
    ] as const) {
      const t = half === 0 ? prefix.kv[i]?.key : prefix.kv[i]?.value;
      expect(t?.dims).toEqual([1, K, P, D]);
      // view(P, 2L, K, D): virtual token v, layer i's keys at 2i and values at 2i + 1
      const want = v * width + (2 * i + half) * K * D + k * D + d;
      expect(((t as Tensor).data as Float32Array)[(k * P + v) * D + d]).toBe(want);
    }
  });

  it('refuses what is malformed or not made for this base model, naming the problem', () => {
    const shape = engine.model(BASE).shape;
    const ok = randomPrefix(shape, { tokens: 4 }).embeddings;
    const width = ok.length / 4;
    const cases: [AdapterFiles, RegExp][] = [
      [
        prefixFiles(shape, ok, { num_virtual_tokens: 5 }),
        /prompt_embeddings: shape \[4,\d+\], expected \[5,/,
      ],
      [
        prefixFiles(shape, ok, { num_virtual_tokens: 0 }),
        /num_virtual_tokens must be an integer from 1 to 32/,
      ],
      [
        prefixFiles(shape, new Float32Array(33 * width)),
        /num_virtual_tokens must be an integer from 1 to 32/,
      ],
      [prefixFiles(shape, ok, { num_layers: 12 }), /num_layers is 12; this base model needs 4/],
      [prefixFiles(shape, ok, { token_dim: 256 }), /token_dim is 256; this base model needs 128/],
      [prefixFiles(shape, ok, { num_attention_heads: 8 }), /num_attention_heads is 8/],
      [prefixFiles(shape, ok, { prefix_projection: true }), /prefix_projection must be false/],
      [prefixFiles(shape, ok, { task_type: 'SEQ_2_SEQ_LM' }), /task_type/],
      [
        prefixFiles(
          shape,
          Float32Array.from(ok, (x, i) => (i === 7 ? Number.NaN : x)),
        ),
        /index 7 is not finite/,
      ],
      [
        {
          config: prefixFiles(shape, ok).config,
          weights: writeSafetensors({ other: { dtype: 'F32', shape: [4, width], data: ok } }),
        },
        /unexpected tensor other/,
      ],
      [{ config: prefixFiles(shape, ok).config, weights: writeSafetensors({}) }, /missing prompt_embeddings/],
      [
        { config: prefixFiles(shape, ok, { peft_type: 'P_TUNING' }).config, weights: new Uint8Array() },
        /peft_type is "P_TUNING"; served: "LORA", "PREFIX_TUNING"/,
      ],
    ];
    for (const [files, message] of cases) {
      expect(() => readAdapter(files, shape, limits(), engine.model(BASE).contextLength)).toThrow(message);
      try {
        readAdapter(files, shape, limits(), engine.model(BASE).contextLength);
      } catch (e) {
        expect(e).toBeInstanceOf(AdapterError);
      }
    }
  });

  it('concatenates prefixes in order and tiles one over a batch', () => {
    const shape = engine.model(BASE).shape;
    const a = parse(randomPrefix(shape, { tokens: 2, seed: 1 }).files);
    const b = parse(randomPrefix(shape, { tokens: 3, seed: 2 }).files);
    const ab = concatPrefixes(shape, [a, b]);
    expect(ab.length).toBe(5);
    const D = shape.headDim;
    const at = (p: PrefixAdapter, layer: number, k: number, v: number) => {
      const data = p.kv[layer]?.value.data as Float32Array;
      return Array.from(data.subarray((k * p.length + v) * D, (k * p.length + v + 1) * D));
    };
    expect(at(ab, 3, 2, 1)).toEqual(at(a, 3, 2, 1));
    expect(at(ab, 3, 2, 4)).toEqual(at(b, 3, 2, 2));
    const tiled = tilePrefix(b, 3);
    expect(tiled[0]?.key.dims).toEqual([3, shape.nKvHeads, 3, D]);
    const one = b.kv[0]?.key.data as Float32Array;
    expect(
      Array.from(((tiled[0] as KVCache[number]).key.data as Float32Array).subarray(2 * one.length)),
    ).toEqual(Array.from(one));
  });

  it('composes with LoRAs; a prefix applies at weight 1 or 0 only', async () => {
    const shape = engine.model(BASE).shape;
    const prefix = parse(randomPrefix(shape, { tokens: 4 }).files);
    const lora = readAdapter(
      await adapters.files(loraRef('l', 3)),
      shape,
      limits(),
      engine.model(BASE).contextLength,
    );
    const both = compose(
      shape,
      [
        { adapter: lora, weight: 1 },
        { adapter: prefix, weight: 1 },
      ],
      {},
      256,
    );
    expect(both.prefix?.length).toBe(4);
    expect(Object.keys(both.lora ?? {}).length).toBeGreaterThan(0);
    expect(compose(shape, [{ adapter: prefix, weight: 0 }], {}, 256).prefix).toBeUndefined();
    expect(() => compose(shape, [{ adapter: prefix, weight: 0.5 }], {}, 256)).toThrow(/weight 1 \(or 0/);
    const many = Array.from({ length: 9 }, () => ({ adapter: prefix, weight: 1 }));
    expect(() => compose(shape, many, {}, 256)).toThrow(/take 36 positions together; at most 32 fit/);
  });
});

describe('the engine serving a prefix', () => {
  it('scores as the decoder fed the prefix as past positions (positions after it), batched as alone', async () => {
    const { tokenizer } = engine.model(BASE);
    const texts = [' the door opened slowly', ' and she said nothing at all to him', ' yes'];
    const ref = prefixRef('adapters/a/u/p1/', 6, 5);
    const prefix = parse(await adapters.files(ref));
    const batched = await engine.score(texts, { base: BASE, context: 'It was late.', adapters: [ref] });
    const base = await engine.score(texts, { base: BASE, context: 'It was late.' });
    for (const [i, text] of texts.entries()) {
      const ids = [tokenizer.bosId, ...tokenizer.encode('It was late.'), ...tokenizer.encode(text)];
      const nlls = (await manualNlls(ids, prefix.kv)).slice(ids.length - 1 - (batched[i]?.tokens ?? 0));
      expect(maxAbsDiff(batched[i]?.tokenNlls ?? [], nlls)).toBeLessThan(1e-4);
      const [alone] = await engine.score([text], { base: BASE, context: 'It was late.', adapters: [ref] });
      expect(maxAbsDiff(alone?.tokenNlls ?? [], batched[i]?.tokenNlls ?? [])).toBeLessThan(1e-4);
      expect(Math.abs((base[i]?.nll ?? 0) - (batched[i]?.nll ?? 0))).toBeGreaterThan(1e-3); // it does something
    }
  });

  it('generates greedily what full forward passes over prefix + sequence give (the KV cache after a prefix)', async () => {
    const { tokenizer, decoder } = engine.model(BASE);
    const v = decoder.shape.vocabSize;
    const ref = prefixRef('adapters/a/u/p2/', 8, 6);
    const prefix = parse(await adapters.files(ref));
    const seq = [tokenizer.bosId, ...tokenizer.encode('The captain looked at the sea and')];
    const want: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { logits } = await decoder.run({ ids: [seq], past: prefix.kv });
      const tok = argmax(logits.subarray((seq.length - 1) * v, seq.length * v));
      if (tok === tokenizer.eosId) break;
      want.push(tok);
      seq.push(tok);
    }
    const gen = engine.generate('The captain looked at the sea and', {
      base: BASE,
      maxTokens: want.length,
      temperature: 0,
      adapters: [ref],
    });
    const r = await gen.result;
    const d = new TextDecoder();
    expect(r.text).toBe(want.map((id) => d.decode(tokenizer.tokenBytes(id), { stream: true })).join(''));
    const plain = await engine.generate('The captain looked at the sea and', {
      base: BASE,
      maxTokens: 12,
      temperature: 0,
    }).result;
    expect(plain.text).not.toBe(r.text);
  });

  it('composes exactly with a LoRA underneath (style + reader), and a seeded sample repeats', async () => {
    const { tokenizer } = engine.model(BASE);
    const pRef = prefixRef('adapters/a/u/p3/', 4, 7);
    const lRef = loraRef('adapters/a/style/s1/', 8);
    const prefix = parse(await adapters.files(pRef));
    const lora = readAdapter(await adapters.files(lRef), engine.model(BASE).shape, limits(), 256);
    if (lora.kind !== 'lora') throw new Error('expected a LoRA');
    const text = ' the night was cold and the wind came from the hills';
    const [got] = await engine.score([text], { base: BASE, adapters: [lRef, pRef] });
    const ids = [tokenizer.bosId, ...tokenizer.encode(text)];
    expect(maxAbsDiff(got?.tokenNlls ?? [], await manualNlls(ids, prefix.kv, lora.inputs))).toBeLessThan(
      1e-4,
    );
    const a = await engine.generate('Once', { base: BASE, maxTokens: 16, seed: 11, adapters: [lRef, pRef] })
      .result;
    const b = await engine.generate('Once', { base: BASE, maxTokens: 16, seed: 11, adapters: [lRef, pRef] })
      .result;
    expect(a.text).toBe(b.text);
    await expect(engine.score([text], { base: BASE, adapters: [{ ...pRef, weight: 0.5 }] })).rejects.toThrow(
      /adapter|weight 1/,
    );
  });

  it('takes its positions from the window: prompts are cut and long generations slide within what is left', async () => {
    const long = 'and then the old man walked along the road to the town '.repeat(30);
    const P = 16;
    const ref = prefixRef('adapters/a/u/p4/', P, 9);
    const withPrefix = await engine.generate(long, {
      base: BASE,
      maxTokens: 8,
      temperature: 0,
      adapters: [ref],
    }).result;
    const without = await engine.generate(long, { base: BASE, maxTokens: 8, temperature: 0 }).result;
    expect(without.promptTokens).toBe(256 - 8 - 1);
    expect(withPrefix.promptTokens).toBe(256 - P - 8 - 1);
    expect(withPrefix.promptTruncated).toBe(true);
    // Past the window: the slide keeps the prefix in front and the model's positions within 256.
    const slid = await engine.generate(long, { base: BASE, maxTokens: 150, temperature: 0, adapters: [ref] })
      .result;
    expect(slid.promptTokens).toBe(256 - P - 120 - 1);
    expect(slid.finishReason).toBe('length');
    expect(slid.completionTokens).toBe(150);
    // Scoring: a text must fit what the prefix leaves.
    const tokens = engine.model(BASE).tokenizer.encode(long).slice(0, 250);
    const text = engine.model(BASE).tokenizer.decode(tokens);
    await expect(engine.score([text], { base: BASE, adapters: [ref] })).rejects.toThrow(/at most 239 fit/);
  });
});
