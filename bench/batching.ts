// Continuous batching (engine/batch.ts): concurrent generations for different users' adapters
// decoding together, against the same requests served one after another, in the same run, interleaved.
// - one engine (this thread): 8 users with distinct rank-8 adapters; 7 rank-8 + 1 rank-64; and the same 8 at
//   once with batching off (TAILOR_MAX_BATCH=1: generations interleave step by step, as before batching);
// - the Node engine pool (2 worker threads, as `npm start` runs here): 8 distinct rank-8 users, and 32
//   requests across 1,000 users drawn by Zipf(1) with an adapter cache for 10 % of them;
// - time between tokens of one stream among 8 concurrent ones, against that stream alone;
// - over HTTP: /v1/generate with 8 and 32 concurrent streaming clients against a server with batching and
//   one with TAILOR_MAX_BATCH=1, tokens/s and p99 time to first token.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore } from '../core/node/file-store.js';
import { mulberry32 } from '../core/util/rng.js';
import {
  type AdapterRef,
  Engine,
  type EngineGenerateOptions,
  type GenerateResult,
  type Generation,
} from '../engine/index.js';
import { EnginePool } from '../runtime/node/engine-pool.js';
import { interleave, type Measured, median, percentile, round, zipfSampler } from './harness.js';
import { benchPlatform, close, type Platform } from './serving.js';
import {
  ADAPTERS,
  BASE,
  type BenchContext,
  GREEDY,
  MODEL_DIR,
  MODEL_PREFIX,
  putAdapter,
  rankAdapter,
  storeRef,
  TMP,
} from './setup.js';
import { USERS_DIR, userAdapters } from './users.js';

const PROMPTS = [
  'The old man walked slowly down the road toward the town, and',
  'She opened the door and looked out at the garden where',
  'In the morning the men went back to the river, and',
  'It was late in the afternoon when the sheriff rode into',
  'The house stood at the end of a long street',
  'When the war was over, they',
  'I remember the first time I saw',
  'He said that the government would not accept',
];

interface Req {
  prompt: string;
  adapters: AdapterRef[];
}

type Generator = { generate: (prompt: string, opts: EngineGenerateOptions) => Generation };

/** Tokens generated and the wall time of running `reqs` all at once (or one after another). */
async function serve(engine: Generator, reqs: Req[], tokens: number, together: boolean) {
  const one = (r: Req) =>
    engine.generate(r.prompt, { ...GREEDY, base: BASE, maxTokens: tokens, adapters: r.adapters })
      .result as Promise<GenerateResult>;
  const t0 = performance.now();
  const results: GenerateResult[] = [];
  if (together) results.push(...(await Promise.all(reqs.map(one))));
  else for (const r of reqs) results.push(await one(r));
  const ms = performance.now() - t0;
  return {
    ms,
    tokens: results.reduce((n, r) => n + r.completionTokens, 0),
    texts: results.map((r) => r.text),
  };
}

/** Interleaved rounds of concurrent vs one-after-another; the ratio of aggregate tokens/s, per round. */
async function versus(
  sides: { name: string; engine: Generator; together: boolean; reqs: () => Req[] }[],
  tokens: number,
  rounds: number,
) {
  const rates: Record<string, number[]> = {};
  const texts: Record<string, string[]> = {};
  await interleave(
    sides.map((s) => ({
      name: s.name,
      run: async (measured: boolean) => {
        const r = await serve(s.engine, s.reqs(), tokens, s.together);
        if (measured) {
          rates[s.name] ??= [];
          rates[s.name]?.push((r.tokens * 1000) / r.ms);
        }
        texts[s.name] = r.texts;
        return r.ms;
      },
    })),
    rounds,
  );
  /** Median over rounds of a side's tokens/s over another's (each round's pair ran back to back). */
  const ratio = (a: string, b: string) =>
    median((rates[a] as number[]).map((x, i) => x / ((rates[b] as number[])[i] as number)));
  const rate = (a: string) => median(rates[a] as number[]);
  return { ratio, rate, texts };
}

/** Gaps between a stream's consecutive pieces (ms), while `others` generate at the same time. */
async function gaps(engine: Generator, stream: Req, others: Req[], tokens: number): Promise<number[]> {
  const gen = engine.generate(stream.prompt, {
    ...GREEDY,
    base: BASE,
    maxTokens: tokens,
    adapters: stream.adapters,
  });
  const rest = others.map(
    (r) =>
      engine.generate(r.prompt, { ...GREEDY, base: BASE, maxTokens: tokens + 16, adapters: r.adapters })
        .result as Promise<GenerateResult>,
  );
  const out: number[] = [];
  let last = 0;
  for await (const _ of gen) {
    const now = performance.now();
    if (last) out.push(now - last);
    last = now;
  }
  await Promise.all(rest);
  return out;
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const tokens = ctx.quick ? 8 : 48;
  const rounds = ctx.quick ? 1 : 6;
  const users = await userAdapters(ctx.pkg, ctx.quick ? 40 : 1000, ctx.log);
  const refs = users.prefixes.map((p) => storeRef(users.store, p));
  const big = await putAdapter(users.store, 'rank64', rankAdapter(ctx.pkg, 64_064, 64));
  const bigRef = storeRef(users.store, big);
  const eight: Req[] = PROMPTS.map((prompt, i) => ({ prompt, adapters: [refs[i] as AdapterRef] }));
  const mixed: Req[] = eight.map((r, i) => (i === 7 ? { ...r, adapters: [bigRef] } : r));
  const out: Measured[] = [];

  // One engine, this thread.
  const batched = new Engine(ctx.pkg, { loader: ADAPTERS, maxBatch: 16 });
  const alone = new Engine(ctx.pkg, { loader: ADAPTERS, maxBatch: 1 });
  const one = await versus(
    [
      { name: 'together', engine: batched, together: true, reqs: () => eight },
      { name: 'sequential', engine: batched, together: false, reqs: () => eight },
      { name: 'interleaved', engine: alone, together: true, reqs: () => eight },
      { name: 'mixed together', engine: batched, together: true, reqs: () => mixed },
      { name: 'mixed sequential', engine: batched, together: false, reqs: () => mixed },
    ],
    tokens,
    rounds,
  );
  if (JSON.stringify(one.texts.together) !== JSON.stringify(one.texts.sequential))
    throw new Error('batched texts differ from the same requests served one after another');
  const b = batched.metrics().batching;
  ctx.log(`one thread: mean batch ${(b.rows / b.runs).toFixed(2)} rows over ${b.runs} runs`);
  out.push(
    {
      id: 'batch_aggregate_tokens_per_s_8_users_rank8_one_thread',
      value: round(one.rate('together'), 1),
      unit: 'tokens/s',
      vs: 'the same 8 requests one after another, same engine',
      ratio: round(one.ratio('together', 'sequential')),
    },
    {
      id: 'batch_aggregate_tokens_per_s_8_users_rank8_one_thread_vs_unbatched_concurrent',
      value: round(one.rate('together'), 1),
      unit: 'tokens/s',
      vs: 'the same 8 at once with TAILOR_MAX_BATCH=1 (step-by-step interleaving)',
      ratio: round(one.ratio('together', 'interleaved')),
    },
    {
      id: 'batch_aggregate_tokens_per_s_7_rank8_1_rank64_one_thread',
      value: round(one.rate('mixed together'), 1),
      unit: 'tokens/s',
      vs: 'the same 8 requests one after another',
      ratio: round(one.ratio('mixed together', 'mixed sequential')),
    },
  );

  // Time between tokens of one stream: alone, with 3 others (what each of the pool's 2 threads carries of 8
  // requests) and with 7 others. Measured on one engine: the pool's threads send pieces at most every 8 ms.
  const gapAlone: number[] = [];
  const gapFour: number[] = [];
  const gapEight: number[] = [];
  for (let r = 0; r < Math.max(2, rounds / 2); r++) {
    gapAlone.push(...(await gaps(batched, eight[0] as Req, [], tokens)));
    gapFour.push(...(await gaps(batched, eight[0] as Req, eight.slice(1, 4), tokens)));
    gapEight.push(...(await gaps(batched, eight[0] as Req, eight.slice(1), tokens)));
  }
  for (const [n, loaded] of [
    [8, gapEight],
    [4, gapFour],
  ] as const) {
    out.push({
      id: `batch_inter_token_p50_ms_one_of_${n}_concurrent_one_thread_lower_is_better`,
      value: round(median(loaded), 2),
      unit: 'ms',
      vs: 'the same stream alone',
      ratio: round(median(loaded) / median(gapAlone), 2),
      goal: '≤ 2×',
    });
  }

  // The engine pool: two threads, each batching its own requests.
  const root = poolStore();
  const count = users.prefixes.length;
  const adapterBytes = await (async () => {
    const probe = new Engine(ctx.pkg, { loader: ADAPTERS });
    await probe.resolveAdapters([refs[0] as AdapterRef], BASE);
    return probe.metrics().adapterCache.bytes;
  })();
  const pool = await EnginePool.start({
    threads: 2,
    store: new FileStore(root),
    storage: { driver: 'file', root },
    bases: [{ id: BASE, prefix: MODEL_PREFIX }],
    adapterCacheBytes: Math.ceil(count / 10) * adapterBytes + 2 * adapterBytes,
  });
  try {
    const zipf = zipfSampler(count, 1, mulberry32(7));
    const draw = (): Req[] =>
      Array.from({ length: 32 }, (_, i) => ({
        prompt: PROMPTS[i % PROMPTS.length] as string,
        adapters: [refs[zipf()] as AdapterRef],
      }));
    // The Zipf sides draw anew each round; both sides of a round get the same draw.
    let drawn = draw();
    const p = await versus(
      [
        { name: '8 together', engine: pool, together: true, reqs: () => eight },
        { name: '8 sequential', engine: pool, together: false, reqs: () => eight },
        { name: '32 together', engine: pool, together: true, reqs: () => drawn },
        {
          name: '32 sequential',
          engine: pool,
          together: false,
          reqs: () => {
            const r = drawn;
            drawn = draw();
            return r;
          },
        },
      ],
      tokens,
      rounds,
    );
    const m = pool.metrics();
    ctx.log(
      `pool: mean batch ${(m.batching.rows / m.batching.runs).toFixed(2)}; cache hits ${m.adapterCache.hits}, misses ${m.adapterCache.misses}`,
    );
    out.push(
      {
        id: 'batch_aggregate_tokens_per_s_8_users_rank8_engine_pool_2_threads',
        value: round(p.rate('8 together'), 1),
        unit: 'tokens/s',
        vs: 'the same 8 requests one after another through the same pool',
        ratio: round(p.ratio('8 together', '8 sequential')),
        goal: '≥ 3×',
      },
      {
        id: 'batch_aggregate_tokens_per_s_32_of_1000_users_zipf_10pct_cache_engine_pool_2_threads',
        value: round(p.rate('32 together'), 1),
        unit: 'tokens/s',
        vs: 'the same 32 requests one after another through the same pool',
        ratio: round(p.ratio('32 together', '32 sequential')),
        goal: '≥ 3×',
      },
    );
  } finally {
    await pool.close();
    rmSync(root, { recursive: true, force: true });
  }

  out.push(...(await overHttp(ctx, ctx.quick ? 1 : 4)));
  return out;
}

/** A storage root the pool's threads read: the shipped model and the bench users' adapters, linked. */
function poolStore(): string {
  const root = mkdtempSync(join(TMP, 'pool-store-'));
  mkdirSync(join(root, 'models'));
  symlinkSync(MODEL_DIR, join(root, MODEL_PREFIX.slice(0, -1)));
  symlinkSync(join(USERS_DIR, 'adapters'), join(root, 'adapters'));
  return root;
}

/** n streaming clients at once: tokens/s over the whole wave, and each client's time to first token. */
async function wave(s: Platform, n: number, tokens: number) {
  const t0 = performance.now();
  const ttft: number[] = [];
  let total = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = performance.now();
      const res = await fetch(`${s.server.url}/v1/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          user: `reader-${i}`,
          prompt: PROMPTS[i % PROMPTS.length],
          max_tokens: tokens,
          temperature: 0,
          stream: true,
        }),
      });
      if (res.status !== 200 || !res.body) throw new Error(`generate: ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (first) {
          ttft.push(performance.now() - start);
          first = false;
        }
        buf += value;
      }
      const m = /"completion_tokens":(\d+)/.exec(buf);
      total += m ? Number(m[1]) : 0;
    }),
  );
  return { ms: performance.now() - t0, tokens: total, ttft };
}

async function overHttp(ctx: BenchContext, rounds: number): Promise<Measured[]> {
  const tokens = ctx.quick ? 8 : 48;
  const on = await benchPlatform('batch-16', { TAILOR_MAX_BATCH: '16' });
  const off = await benchPlatform('batch-1', { TAILOR_MAX_BATCH: '1' });
  const out: Measured[] = [];
  try {
    for (const n of [8, 32]) {
      const rate: Record<string, number[]> = { on: [], off: [] };
      const ttft: Record<string, number[]> = { on: [], off: [] };
      await interleave(
        [
          { name: 'on', s: on },
          { name: 'off', s: off },
        ].map(({ name, s }) => ({
          name,
          run: async (measured) => {
            const w = await wave(s, n, tokens);
            if (measured) {
              (rate[name] as number[]).push((w.tokens * 1000) / w.ms);
              (ttft[name] as number[]).push(...w.ttft);
            }
            return w.ms;
          },
        })),
        rounds,
      );
      const r = (k: string) => rate[k] as number[];
      out.push(
        {
          id: `batch_http_tokens_per_s_${n}_concurrent_streams`,
          value: round(median(r('on')), 1),
          unit: 'tokens/s',
          vs: 'a TAILOR_MAX_BATCH=1 server, same run',
          ratio: round(median(r('on').map((x, i) => x / (r('off')[i] as number)))),
        },
        {
          id: `batch_http_ttft_p99_ms_${n}_concurrent_streams_lower_is_better`,
          value: round(percentile(ttft.on as number[], 99), 1),
          unit: 'ms',
          vs: 'a TAILOR_MAX_BATCH=1 server, same run',
          ratio: round(percentile(ttft.off as number[], 99) / percentile(ttft.on as number[], 99), 2),
        },
      );
    }
  } finally {
    await close(on);
    await close(off);
  }
  return out;
}
