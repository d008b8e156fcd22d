// 5. Many users: 1,000 distinct users' rank-8 adapters requested in turn, each request = resolve the user's
// adapter through the engine cache + a short greedy generation. Interleaved in blocks of requests:
// - single: one user's adapter over and over (the best case: always a hit, one adapter hot in CPU caches);
// - all-cached: round-robin over 1,000 users, the cache big enough for all of them (filled by a first,
//   cold pass that is reported on its own);
// - 10%-cache, round-robin: a cache holding 100 of the 1,000 (LRU under cyclic access: every request misses,
//   so every request reads and parses its adapter from the FileStore);
// - 10%-cache, Zipf(1): users drawn with a popularity skew, as real traffic has.

import { mulberry32 } from '../core/util/rng.js';
import { type AdapterRef, Engine } from '../engine/index.js';
import { interleave, type Measured, median, round, speedup, zipfSampler } from './harness.js';
import { ADAPTERS, BASE, type BenchContext, generate, storeRef } from './setup.js';
import { userAdapters } from './users.js';

const PROMPT = 'The old man walked slowly down the road toward the town, and';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const count = ctx.quick ? 40 : 1000;
  const tokens = ctx.quick ? 4 : 8;
  const block = ctx.quick ? 10 : 50;
  const users = await userAdapters(ctx.pkg, count, ctx.log);
  const refs = users.prefixes.map((p) => storeRef(users.store, p));

  // The size of one parsed adapter decides the cache sizes.
  const probe = new Engine(ctx.pkg, { loader: ADAPTERS });
  await probe.resolveAdapters([refs[0] as AdapterRef], BASE);
  const adapterBytes = probe.metrics().adapterCache.bytes;
  const tenth = Math.ceil(count / 10);

  const single = new Engine(ctx.pkg, { loader: ADAPTERS, adapterCacheBytes: 4 * adapterBytes });
  const all = new Engine(ctx.pkg, { loader: ADAPTERS, adapterCacheBytes: (count + 1) * adapterBytes });
  const lruRR = new Engine(ctx.pkg, { loader: ADAPTERS, adapterCacheBytes: tenth * adapterBytes });
  const lruZipf = new Engine(ctx.pkg, { loader: ADAPTERS, adapterCacheBytes: tenth * adapterBytes });

  let generated = 0;
  let requests = 0;
  const request = async (engine: Engine, ref: AdapterRef) => {
    const r = await generate(engine, PROMPT, tokens, [ref]);
    generated += r.completionTokens;
    requests++;
  };
  // Round-robin cursors per side; Zipf draws from a seeded generator.
  const cursor = { all: 0, rr: 0 };
  const zipf = zipfSampler(count, 1, mulberry32(42));
  const blockOf = (next: () => Promise<void>) => async () => {
    const t0 = performance.now();
    for (let i = 0; i < block; i++) await next();
    return performance.now() - t0;
  };

  // First pass over all users: every request is a cold load (FileStore read + parse) into the big cache.
  const fillStart = performance.now();
  while (cursor.all < count) await request(all, refs[cursor.all++ % count] as AdapterRef);
  const coldRps = (count * 1000) / (performance.now() - fillStart);

  const rounds = Math.max(2, Math.floor(count / block));
  const s = await interleave(
    [
      { name: 'single', run: blockOf(() => request(single, refs[0] as AdapterRef)) },
      { name: 'all', run: blockOf(() => request(all, refs[cursor.all++ % count] as AdapterRef)) },
      { name: 'rr', run: blockOf(() => request(lruRR, refs[cursor.rr++ % count] as AdapterRef)) },
      { name: 'zipf', run: blockOf(() => request(lruZipf, refs[zipf()] as AdapterRef)) },
    ],
    rounds,
  );
  const expected = requests * tokens;
  if (generated !== expected)
    ctx.log(`note: ${expected - generated} of ${expected} tokens not generated (EOS)`);
  const rps = (k: string) => (block * 1000) / median(s[k] as number[]);
  const hitRate = (e: Engine) => {
    const m = e.metrics().adapterCache;
    return m.hits / (m.hits + m.misses);
  };
  const one = `one user's adapter (always cached), same request mix`;
  // Mean duration of the loads the 10% caches made while serving (storage read + parse, as the cache saw it).
  const meanLoadMs = (e: Engine) => {
    const l = e.metrics().adapterCache.loadSeconds;
    return l.count ? (l.sum / l.count) * 1000 : 0;
  };
  return [
    {
      id: `users_${count}_all_cached_requests_per_s_${tokens}_tokens`,
      value: round(rps('all'), 1),
      unit: 'requests/s',
      vs: one,
      ratio: round(speedup(s.all as number[], s.single as number[])),
      goal: '≥ 0.9×',
    },
    { id: `users_1_requests_per_s_${tokens}_tokens`, value: round(rps('single'), 1), unit: 'requests/s' },
    {
      id: `users_${count}_cold_first_requests_per_s_${tokens}_tokens`,
      value: round(coldRps, 1),
      unit: 'requests/s',
    },
    {
      id: `users_${count}_cache_10pct_round_robin_requests_per_s_${tokens}_tokens`,
      value: round(rps('rr'), 1),
      unit: 'requests/s',
      vs: one,
      ratio: round(speedup(s.rr as number[], s.single as number[])),
    },
    {
      id: `users_${count}_cache_10pct_round_robin_hit_rate`,
      value: round(hitRate(lruRR), 4),
      unit: 'fraction',
    },
    {
      id: `users_${count}_cache_10pct_zipf1_requests_per_s_${tokens}_tokens`,
      value: round(rps('zipf'), 1),
      unit: 'requests/s',
      vs: one,
      ratio: round(speedup(s.zipf as number[], s.single as number[])),
    },
    { id: `users_${count}_cache_10pct_zipf1_hit_rate`, value: round(hitRate(lruZipf), 4), unit: 'fraction' },
    {
      id: `users_${count}_cache_10pct_round_robin_mean_load_ms_lower_is_better`,
      value: round(meanLoadMs(lruRR), 2),
      unit: 'ms',
    },
    { id: 'adapter_rank8_cached_bytes_kb', value: round(adapterBytes / 1024, 1), unit: 'KB' },
  ];
}
