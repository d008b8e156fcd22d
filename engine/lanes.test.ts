// The graphs derived from the shipped one (onnx-graph.ts) and the lanes that run them (lanes.ts): the graph
// without LoRA inputs is exactly rank 0; a merged adapter is the LoRA path to float rounding; requests without
// a LoRA run the base-only session; a hot user gets a merged session, and loses it when erased.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../core/node/file-store.js';
import { ALL_TARGETS } from '../schema/training.js';
import { parseAdapter } from './adapter.js';
import { Decoder } from './decoder.js';
import { Engine } from './engine.js';
import { loadModelPackage, type ModelPackage } from './model-package.js';
import { baseOnlyGraph, mergeLora } from './onnx-graph.js';
import { randomAdapter, TestAdapters } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const bytes = new Uint8Array(readFileSync(join(root, 'models/brown-4m/model.onnx')));
const isLora = (n: string) => n.includes('.lora_');
const BASE = 'brown-4m';
const adapters = new TestAdapters(BASE);
let pkg: ModelPackage;

beforeAll(async () => {
  pkg = await loadModelPackage(new FileStore(root), 'models/brown-4m');
}, 60_000);

const files = (seed: number) =>
  randomAdapter(pkg.shape, { r: 8, alpha: 16, targets: [...ALL_TARGETS], seed, scale: 0.3 });

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('graphs derived from the shipped one', () => {
  const ids = [
    [0, 5, 77, 300, 12, 9],
    [0, 61, 2, 1000, 4, 8],
  ];
  const baseShape = () => ({ ...pkg.shape, loraModules: [], loraShapes: [] });

  it('without LoRA inputs: the same logits as rank 0, bit for bit, and no LoRA input left', async () => {
    const derived = await Decoder.create(baseOnlyGraph(bytes, isLora), baseShape());
    const want = (await pkg.decoder.run({ ids })).logits;
    expect(maxDiff((await derived.run({ ids })).logits, want)).toBe(0);
    await derived.release();
    expect(() => baseOnlyGraph(baseOnlyGraph(bytes, isLora), isLora)).toThrow(/no LoRA inputs/);
  });

  it('with an adapter merged into the weights: the LoRA path to 1e-4', async () => {
    const adapter = parseAdapter(files(3), pkg.shape, { maxRank: 64, targets: [...ALL_TARGETS] });
    const deltas = [...adapter.modules].map(([module, w]) => ({ module, a: w.a, b: w.b, r: w.r }));
    const merged = await Decoder.create(mergeLora(baseOnlyGraph(bytes, isLora), deltas), baseShape());
    const want = (await pkg.decoder.run({ ids, lora: adapter.inputs })).logits;
    const base = (await pkg.decoder.run({ ids })).logits;
    expect(maxDiff(want, base)).toBeGreaterThan(1); // the adapter does change the output...
    expect(maxDiff((await merged.run({ ids })).logits, want)).toBeLessThan(1e-4); // ...and merging keeps it
    await merged.release();
    expect(() => mergeLora(bytes, [{ ...deltas[0], module: 'model.layers.9.mlp.up_proj' } as never])).toThrow(
      /no weight/,
    );
  });
});

describe('lanes', () => {
  const ref = (key: string, seed: number) => adapters.ref(key, async () => files(seed));
  const greedy = { temperature: 0, topK: 0, topP: 1, seed: 1, maxTokens: 24 };

  it('a request without a LoRA runs the base-only session, with the same text as the LoRA graph at rank 0', async () => {
    const engine = new Engine(pkg, { loader: adapters });
    await engine.ready;
    const off = new Engine(pkg, { loader: adapters, baseOnlyGraph: false });
    expect(engine.metrics().lanes.baseOnlyGraph).toBe(true);
    expect(off.metrics().lanes.baseOnlyGraph).toBe(false);
    const a = await engine.generate('The river ran', { base: BASE, ...greedy }).result;
    const b = await off.generate('The river ran', { base: BASE, ...greedy }).result;
    expect(a.text).toBe(b.text);
    expect((await engine.score(['It rained.'], { base: BASE }))[0]?.nll).toBe(
      (await off.score(['It rained.'], { base: BASE }))[0]?.nll,
    );
  });

  it('merges the hottest user into a session of their own, and gives it up when the user is erased', async () => {
    const engine = new Engine(pkg, { loader: adapters, mergeHot: 1 });
    const hot = ref('adapters/app/hot/v1/', 5);
    const lora = (await engine.generate('The door opened', { base: BASE, ...greedy, adapters: [hot] }).result)
      .text;
    for (let i = 0; i < 24 && engine.metrics().lanes.merged === 0; i++) {
      await engine.generate('The door opened', { base: BASE, ...greedy, maxTokens: 48, adapters: [hot] })
        .result;
      await new Promise((r) => setTimeout(r, 20)); // the merge runs in the background
    }
    expect(engine.metrics().lanes).toMatchObject({ merged: 1, merges: 1 });
    const served = engine.metrics().lanes.mergedRequests;
    const merged = await engine.generate('The door opened', { base: BASE, ...greedy, adapters: [hot] })
      .result;
    expect(merged.text).toBe(lora); // greedy text unchanged by merging
    expect(engine.metrics().lanes.mergedRequests).toBe(served + 1);
    await engine.forgetAdapters('adapters/app/hot/');
    expect(engine.metrics().lanes.merged).toBe(0);
    expect(
      (await engine.generate('The door opened', { base: BASE, ...greedy, adapters: [hot] }).result).text,
    ).toBe(lora);
    expect(engine.metrics().lanes.mergedRequests).toBe(served + 1); // back on the LoRA graph
  }, 60_000);

  it('a generation that runs across an erasure heats nothing: its set is never merged after', async () => {
    const engine = new Engine(pkg, { loader: adapters, mergeHot: 1 });
    const erased = ref('adapters/app/erased/v1/', 6);
    // Enough tokens in one generation to make the set hot (512), and an erasure while it decodes.
    const long = engine.generate('The door opened and the wind came in', {
      base: BASE,
      ...greedy,
      maxTokens: 600,
      adapters: [erased],
    });
    let erasedAt = -1;
    let pieces = 0;
    for await (const _ of long) {
      if (++pieces === 4) {
        erasedAt = pieces;
        await engine.forgetAdapters('adapters/app/erased/');
      }
    }
    const r = await long.result;
    expect(erasedAt).toBe(4);
    expect(r.promptTokens + r.completionTokens).toBeGreaterThan(512);
    await new Promise((r) => setTimeout(r, 200)); // a merge would run in the background
    expect(engine.metrics().lanes).toMatchObject({ merged: 0, merges: 0 });
    expect(engine.metrics().adapterCache.entries).toBe(0);
  }, 60_000);

  it('an adapter load that lands after its erasure serves its request but is not cached', async () => {
    const engine = new Engine(pkg, { loader: adapters });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow = adapters.ref('adapters/app/late/v1/', async () => {
      await gate;
      return files(7);
    });
    const loading = engine.generate('The door opened', {
      base: BASE,
      ...greedy,
      maxTokens: 2,
      adapters: [slow],
    }).result;
    await new Promise((r) => setTimeout(r, 20));
    await engine.forgetAdapters('adapters/app/late/');
    release();
    expect((await loading).completionTokens).toBeGreaterThan(0);
    expect(engine.metrics().adapterCache).toMatchObject({ entries: 0, fenced: 1 });
  });
});
