// 4. Adapter resolution: a cold load (read both files from the local FileStore, parse and check the PEFT
// adapter, decoder tensors ready: Engine.resolveAdapters on a key not in the cache) and a warm lookup (the same
// call on a cached key). Rank-8 adapters on every target; each cold sample is a different adapter. The files
// were written earlier, so the OS page cache most likely holds them: this is storage through the FileStore
// API, not a disk seek.
import { type AdapterRef, Engine } from '../engine/index.js';
import { type Measured, median, percentile, round } from './harness.js';
import { ADAPTERS, BASE, type BenchContext, storeRef } from './setup.js';
import { userAdapters } from './users.js';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const cold = ctx.quick ? 20 : 200;
  const warm = ctx.quick ? 2_000 : 20_000;
  const users = await userAdapters(ctx.pkg, cold, ctx.log);
  const engine = new Engine(ctx.pkg, { loader: ADAPTERS, adapterCacheBytes: 1 << 30 });
  const refs = users.prefixes.map((p) => storeRef(users.store, p));

  // A few loads first so code paths are compiled; those keys are then warm, so they are not timed cold.
  for (const r of refs.slice(0, 3)) await engine.resolveAdapters([r], BASE);
  const coldMs: number[] = [];
  const readMs: number[] = [];
  for (const r of refs.slice(3)) {
    let t0 = performance.now();
    await ADAPTERS.files(r);
    readMs.push(performance.now() - t0);
    t0 = performance.now();
    await engine.resolveAdapters([r], BASE);
    coldMs.push(performance.now() - t0);
  }
  const m = engine.metrics().adapterCache;
  if (m.loads !== refs.length) throw new Error(`expected ${refs.length} loads, the cache made ${m.loads}`);

  const hot = [refs[0] as AdapterRef];
  const warmMs: number[] = [];
  for (let i = 0; i < warm; i++) {
    const t0 = performance.now();
    await engine.resolveAdapters(hot, BASE);
    warmMs.push(performance.now() - t0);
  }
  const adapterKb = users.fileBytes / 1024;
  return [
    {
      id: 'adapter_cold_load_p50_ms_lower_is_better',
      value: round(median(coldMs), 3),
      unit: 'ms',
      goal: '≤ 10 ms',
    },
    { id: 'adapter_cold_load_p99_ms_lower_is_better', value: round(percentile(coldMs, 99), 3), unit: 'ms' },
    {
      id: 'adapter_cold_load_storage_read_p50_ms_lower_is_better',
      value: round(median(readMs), 3),
      unit: 'ms',
    },
    {
      id: 'adapter_warm_lookup_p50_ms_lower_is_better',
      value: round(median(warmMs), 4),
      unit: 'ms',
      goal: '≤ 0.2 ms',
    },
    { id: 'adapter_warm_lookup_p99_ms_lower_is_better', value: round(percentile(warmMs, 99), 4), unit: 'ms' },
    { id: 'adapter_rank8_all_targets_file_size_kb', value: round(adapterKb, 1), unit: 'KB' },
  ];
}
