// Continuous batching on the shipped model: every row of a mixed batch (different adapters, ranks, prompt
// lengths, a prefix, a row without adapter) decodes as it does alone, to 1e-4 on logits and token for token;
// seeded sampling gives the same text alone, batched, or with batching off; rows join and leave mid-flight.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../core/node/file-store.js';
import { ALL_TARGETS } from '../schema/training.js';
import { parseAdapter } from './adapter.js';
import { Batcher, DecodeRow } from './batch.js';
import { batchLora, partition } from './batch-layout.js';
import { type Conditioning, conditioningOf } from './conditioning.js';
import { Engine } from './engine.js';
import { loadModelPackage, type ModelPackage } from './model-package.js';
import { parsePrefixAdapter } from './prefix.js';
import { argmax } from './sampler.js';
import { randomAdapter, randomPrefix, TestAdapters } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const BASE = 'brown-4m';
let pkg: ModelPackage;

beforeAll(async () => {
  pkg = await loadModelPackage(new FileStore(root), 'models/brown-4m');
}, 60_000);

const lora = (r: number, seed: number, targets: string[] = [...ALL_TARGETS]): Conditioning =>
  conditioningOf(
    parseAdapter(randomAdapter(pkg.shape, { r, alpha: 2 * r, targets, seed, scale: 0.3 }), pkg.shape, {
      maxRank: 64,
      targets: [...ALL_TARGETS],
    }),
  );

interface Case {
  prompt: string;
  conditioning?: Conditioning;
}

interface Decoded {
  tokens: number[];
  logits: Float32Array[];
}

/** Greedy decoding of every case through one batcher at once; per case the tokens and each step's logits. */
async function decodeTogether(
  batcher: Batcher,
  cases: Case[],
  steps: number,
  stagger = false,
): Promise<Decoded[]> {
  const v = pkg.shape.vocabSize;
  return Promise.all(
    cases.map(async (c, i) => {
      // Staggered: case i starts after i turns of the event loop, so rows join a running batch.
      if (stagger) for (let t = 0; t < i * 2; t++) await new Promise((r) => setImmediate(r));
      const row = batcher.open(c.conditioning?.lora);
      const prefix = c.conditioning?.prefix;
      const ids = [pkg.tokenizer.bosId, ...pkg.tokenizer.encode(c.prompt)];
      const tokens: number[] = [];
      const logits: Float32Array[] = [];
      try {
        let l = await batcher.prefill(row, ids, prefix?.length ?? 0, prefix?.kv);
        for (let s = 0; s < steps; s++) {
          logits.push(Float32Array.from(l));
          const tok = argmax(l);
          tokens.push(tok);
          await new Promise((r) => setImmediate(r)); // as the generation loop yields between steps
          if (s < steps - 1) l = await batcher.step(row, tok);
        }
      } finally {
        batcher.close(row);
      }
      expect(logits[0]?.length).toBe(v);
      return { tokens, logits };
    }),
  );
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('batched decoding on the shipped model', () => {
  it('every row of a mixed batch equals that request decoded alone (logits to 1e-4, greedy tokens)', async () => {
    const prefixFiles = randomPrefix(pkg.shape, { tokens: 6, seed: 4, scale: 0.3 }).files;
    const prefix: Conditioning = conditioningOf(parsePrefixAdapter(prefixFiles, pkg.shape, {}, 256));
    const cases: Case[] = [
      { prompt: 'Once upon a time there was', conditioning: lora(8, 1) },
      { prompt: 'She said', conditioning: lora(8, 2) },
      {
        prompt: 'The old man walked slowly to the door and looked out at the rain',
        conditioning: lora(4, 3),
      },
      { prompt: 'He', conditioning: lora(16, 5, ['q_proj', 'v_proj']) }, // some modules only, another rank
      { prompt: 'It was late when the train came in' }, // no adapter
      { prompt: 'They ran', conditioning: prefix }, // a prefix: its own positions
    ];
    const steps = 12;
    const alone: Decoded[] = [];
    for (const c of cases) alone.push(...(await decodeTogether(new Batcher(pkg.decoder), [c], steps)));
    const batcher = new Batcher(pkg.decoder, { maxBatch: 16 });
    for (const stagger of [false, true]) {
      const together = await decodeTogether(batcher, cases, steps, stagger);
      together.forEach((t, i) => {
        const a = alone[i] as Decoded;
        expect(t.tokens).toEqual(a.tokens);
        for (let s = 0; s < steps; s++)
          expect(maxDiff(t.logits[s] as Float32Array, a.logits[s] as Float32Array)).toBeLessThan(1e-4);
      });
    }
    const m = batcher.metrics();
    expect(m.rows / m.runs).toBeGreaterThan(2); // they did decode together
    expect(m.active).toBe(0);
  }, 60_000);

  it('one rank-64 row goes to its own group; seven rank-8 rows stay together', async () => {
    const cases: Case[] = [
      ...Array.from({ length: 7 }, (_, i) => ({ prompt: `Story ${i} began`, conditioning: lora(8, 10 + i) })),
      { prompt: 'A large one', conditioning: lora(64, 20) },
    ];
    const runs: number[][] = [];
    const decoder = {
      shape: pkg.decoder.shape,
      run: (step: Parameters<typeof pkg.decoder.run>[0]) => {
        if (step.ids[0]?.length === 1) runs.push([step.ids.length, step.lora ? maxRank(step.lora) : 0]);
        return pkg.decoder.run(step);
      },
    };
    const alone: Decoded[] = [];
    for (const c of cases) alone.push(...(await decodeTogether(new Batcher(pkg.decoder), [c], 4)));
    const together = await decodeTogether(new Batcher(decoder), cases, 4);
    together.forEach((t, i) => {
      expect(t.tokens).toEqual(alone[i]?.tokens);
    });
    // Once all eight decode: one run of the seven at rank 8, and the rank-64 row always alone.
    expect(runs).toContainEqual([7, 8]);
    expect(runs.filter(([, r]) => r === 64)).toEqual(runs.filter(([b, r]) => b === 1 && r === 64));
  }, 60_000);
});

describe('a long prefill', () => {
  const long =
    'The old man walked slowly down the road toward the town, and the rain fell on the fields where the men had ' +
    'worked all summer. ';
  it('runs in chunks with the KV cache carried: the same logits and tokens as one run', async () => {
    const cases: Case[] = [{ prompt: long.repeat(4), conditioning: lora(8, 7) }];
    const oneRun = await decodeTogether(new Batcher(pkg.decoder, { prefillChunk: 10_000 }), cases, 6);
    const chunked = await decodeTogether(new Batcher(pkg.decoder, { prefillChunk: 37 }), cases, 6);
    expect(pkg.tokenizer.encode(long.repeat(4)).length).toBeGreaterThan(3 * 37);
    expect(chunked[0]?.tokens).toEqual(oneRun[0]?.tokens);
    for (const [s, l] of (chunked[0]?.logits ?? []).entries())
      expect(maxDiff(l, oneRun[0]?.logits[s] as Float32Array)).toBeLessThan(1e-4);
  });

  it('lets the rows decoding beside it step between its chunks', async () => {
    const runs: number[] = [];
    const decoder = pkg.decoder;
    const spy = {
      ...decoder,
      shape: decoder.shape,
      run: (step: Parameters<typeof decoder.run>[0]) => {
        runs.push(step.ids[0]?.length ?? 0);
        return decoder.run(step);
      },
    };
    const watched = new Batcher(spy, { prefillChunk: 16 });
    const [short, longCase] = await Promise.all([
      decodeTogether(watched, [{ prompt: 'She said' }], 12),
      (async () => {
        await new Promise((r) => setImmediate(r));
        return decodeTogether(watched, [{ prompt: long.repeat(2) }], 2);
      })(),
    ]);
    expect(short[0]?.tokens).toHaveLength(12);
    expect(longCase[0]?.tokens).toHaveLength(2);
    // the long prompt's chunks (16 tokens) are not all in a row: one-token steps run between them
    const first = runs.indexOf(16);
    const last = runs.lastIndexOf(16);
    expect(runs.slice(first, last + 1).some((n) => n === 1)).toBe(true);
    expect(watched.metrics().active).toBe(0);
  });
});

describe('a failed run', () => {
  it('fails the rows it carried, and the batcher serves the next requests', async () => {
    let fail = true;
    const decoder = {
      shape: pkg.decoder.shape,
      run: (step: Parameters<typeof pkg.decoder.run>[0]) => {
        if (fail && step.ids.length > 1) {
          fail = false;
          return Promise.reject(new Error('the run broke'));
        }
        return pkg.decoder.run(step);
      },
    };
    const batcher = new Batcher(decoder);
    const cases: Case[] = [{ prompt: 'One' }, { prompt: 'Two words' }, { prompt: 'Three more words' }];
    const first = await Promise.allSettled(cases.map((c) => decodeTogether(batcher, [c], 6)));
    expect(first.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(2);
    for (const r of first)
      if (r.status === 'rejected') expect((r.reason as Error).message).toBe('the run broke');
    expect(batcher.metrics().active).toBe(0);
    const again = await decodeTogether(batcher, cases, 6);
    const alone = await decodeTogether(new Batcher(pkg.decoder), [cases[1] as Case], 6);
    expect(again[1]?.tokens).toEqual(alone[0]?.tokens);
  }, 60_000);
});

function maxRank(inputs: Record<string, { dims: readonly number[] }>): number {
  return Math.max(
    0,
    ...Object.entries(inputs).map(([k, t]) => (k.endsWith('lora_A.weight') ? (t.dims[1] ?? 0) : 0)),
  );
}

describe('the engine with batching', () => {
  let engine: Engine;
  let unbatched: Engine;
  const adapters = new TestAdapters(BASE);
  const ref = (key: string, seed: number, r = 8) =>
    adapters.ref(key, async () =>
      randomAdapter(pkg.shape, { r, alpha: 2 * r, targets: [...ALL_TARGETS], seed, scale: 0.3 }),
    );

  beforeAll(() => {
    engine = new Engine(pkg, { loader: adapters, maxBatch: 8 });
    unbatched = new Engine(pkg, { loader: adapters, maxBatch: 1 });
  });

  it('a seeded request gives the same text alone, batched with others, and with batching off', async () => {
    const reqs = Array.from({ length: 6 }, (_, i) => ({
      prompt: ['Once upon a time', 'The night was', 'He opened the letter and', 'Rain'][i % 4] as string,
      opts: {
        temperature: 0.9,
        topP: 0.95,
        topK: 40,
        seed: 100 + i,
        maxTokens: 6 + 3 * i, // different lengths: rows leave while others decode
        ...(i === 5 ? {} : { adapters: [ref(`user-${i}`, i + 1, i === 2 ? 16 : 8)] }),
        ...(i === 3 ? { stop: ['.'] } : {}),
      },
    }));
    const alone = [];
    for (const r of reqs)
      alone.push((await engine.generate(r.prompt, { base: BASE, ...r.opts }).result).text);
    const batched = await Promise.all(
      reqs.map((r) => engine.generate(r.prompt, { base: BASE, ...r.opts }).result),
    );
    const off = await Promise.all(
      reqs.map((r) => unbatched.generate(r.prompt, { base: BASE, ...r.opts }).result),
    );
    expect(batched.map((r) => r.text)).toEqual(alone);
    expect(off.map((r) => r.text)).toEqual(alone);
    expect(unbatched.metrics().batching.rows).toBe(unbatched.metrics().batching.runs); // one row per run
    const m = engine.metrics().batching;
    expect(m.rows).toBeGreaterThan(m.runs);
    expect(m.active).toBe(0);
  }, 60_000);

  it('rows that left keep their slot until a join rebuilds the group; nobody sees a difference', async () => {
    const o = (seed: number, maxTokens: number) => ({
      temperature: 0.7,
      seed,
      maxTokens,
      adapters: [ref(`g-${seed}`, seed)],
    });
    const plan = [o(1, 40), o(2, 4), o(3, 6), o(4, 30)]; // two leave early: ghosts beside two live rows
    const want = [];
    for (const p of [...plan, o(5, 12)])
      want.push((await engine.generate('The lamp', { base: BASE, ...p }).result).text);
    const { regroups: regroups0, ghostRows: ghosts0 } = engine.metrics().batching;
    const first = plan.map((p) => engine.generate('The lamp', { base: BASE, ...p }));
    let pieces = 0;
    let late: Promise<string> | undefined;
    for await (const _ of first[0] as (typeof first)[number]) {
      if (++pieces === 12)
        late = engine.generate('The lamp', { base: BASE, ...o(5, 12) }).result.then((r) => r.text); // joins
    }
    const got = [...(await Promise.all(first.map((g) => g.result))).map((r) => r.text), await late];
    expect(got).toEqual(want);
    const m = engine.metrics().batching;
    expect(m.ghostRows - ghosts0).toBeGreaterThan(0); // the early leavers' slots were kept...
    expect(m.regroups - regroups0).toBeGreaterThan(1); // ...until the late request joined
  }, 60_000);

  it('with a wait window, requests that start a little apart begin in one batch', async () => {
    const waiting = new Engine(pkg, { loader: adapters, maxBatch: 8, batchWaitMs: 200 });
    const prompt = 'The ship';
    const o = (seed: number) => ({
      temperature: 0.8,
      seed,
      maxTokens: 6,
      adapters: [ref(`w-${seed}`, seed)],
    });
    const want = [];
    for (const s of [1, 2, 3])
      want.push((await engine.generate(prompt, { base: BASE, ...o(s) }).result).text);
    const first = waiting.generate(prompt, { base: BASE, ...o(1) }).result;
    await new Promise((r) => setTimeout(r, 30)); // the first is prefilled and waiting by now
    const rest = [
      waiting.generate(prompt, { base: BASE, ...o(2) }).result,
      waiting.generate(prompt, { base: BASE, ...o(3) }).result,
    ];
    const got = (await Promise.all([first, ...rest])).map((r) => r.text);
    expect(got).toEqual(want);
    const m = waiting.metrics().batching;
    expect(m.rows / m.runs).toBeGreaterThan(2.5); // every step carried the three of them
    expect(() => new Engine(pkg, { batchWaitMs: -1 })).toThrow(RangeError);
  }, 60_000);

  it('a cancelled row leaves at once and the others finish as they would alone', async () => {
    const opts = (seed: number) => ({
      temperature: 0.8,
      seed,
      maxTokens: 24,
      adapters: [ref(`c-${seed}`, seed)],
    });
    const want = await engine.generate('The captain', { base: BASE, ...opts(7) }).result;
    const stopper = new AbortController();
    const doomed = engine.generate('The captain', { base: BASE, ...opts(8), signal: stopper.signal });
    const kept = engine.generate('The captain', { base: BASE, ...opts(7) });
    let pieces = 0;
    await expect(
      (async () => {
        for await (const _ of doomed) if (++pieces === 3) stopper.abort();
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    await expect(doomed.result).rejects.toMatchObject({ name: 'AbortError' });
    expect((await kept.result).text).toBe(want.text);
  }, 60_000);
});

describe('partition', () => {
  const rows = (ranks: number[]) => ranks.map((rank, id) => ({ rank, id }));
  const shape = (parts: { rank: number }[][]) => parts.map((p) => p.map((r) => r.rank));

  it('keeps equal or close ranks together, and no adapter with small ranks', () => {
    expect(shape(partition(rows([8, 8, 8, 8]), 16))).toEqual([[8, 8, 8, 8]]);
    expect(shape(partition(rows([0, 8, 0, 4]), 16))).toEqual([[0, 0, 4, 8]]);
  });

  it('gives a rank far above the rest its own group', () => {
    expect(shape(partition(rows([8, 8, 8, 64, 8, 8, 8, 8]), 16))).toEqual([[8, 8, 8, 8, 8, 8, 8], [64]]);
  });

  it('cuts at maxBatch, and maxBatch 1 runs every row alone', () => {
    const cut = partition(rows(Array(10).fill(8)), 4).map((p) => p.length);
    expect(cut).toHaveLength(3);
    expect(Math.max(...cut)).toBeLessThanOrEqual(4);
    expect(partition(rows([8, 0, 4]), 1).map((p) => p.length)).toEqual([1, 1, 1]);
  });
});

describe('batchLora', () => {
  it('pads each row to the largest rank with zeros, and shares one pair when every row has it', () => {
    const a = lora(2, 1, ['q_proj']).lora;
    const b = lora(3, 2, ['q_proj']).lora;
    const q = 'model.layers.0.self_attn.q_proj';
    const rows = [new DecodeRow(0, a), new DecodeRow(1, undefined), new DecodeRow(2, b)];
    const out = batchLora(rows) ?? {};
    const A = out[`${q}.lora_A.weight`];
    const B = out[`${q}.lora_B.weight`];
    expect(A?.dims).toEqual([3, 3, 256]);
    expect(B?.dims).toEqual([3, 256, 3]);
    const ad = A?.data as Float32Array;
    const bd = B?.data as Float32Array;
    const srcA = a?.[`${q}.lora_A.weight`]?.data as Float32Array;
    const srcB = b?.[`${q}.lora_B.weight`]?.data as Float32Array;
    expect(ad.subarray(0, 2 * 256)).toEqual(srcA); // row 0: its two rows of A...
    expect(ad.subarray(2 * 256, 3 * 256).every((x) => x === 0)).toBe(true); // ...and a zero third
    expect(ad.subarray(3 * 256, 6 * 256).every((x) => x === 0)).toBe(true); // row 1: no adapter
    expect(bd[(2 * 256 + 5) * 3 + 1]).toBe(srcB[5 * 3 + 1]); // row 2's B, element [5, 1]
    expect(bd[(0 * 256 + 5) * 3 + 2]).toBe(0); // row 0's B padded column
    expect(batchLora([new DecodeRow(0, a), new DecodeRow(1, a)])).toBe(a);
    expect(batchLora([new DecodeRow(0, undefined)])).toBeUndefined();
  });
});
