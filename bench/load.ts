// Generation under load, over real HTTP on loopback: Tailor's Node process on the embedded defaults (PGlite,
// local storage, 2 engine threads, the default 64 MiB adapter cache) serving 1,000 users, each with an active
// rank-8 adapter (bench/users.ts, registered as the users' active versions before the server starts). 32
// keep-alive connections from a load generator in another process (bench/load-client.ts) each POST
// /v1/generate (16 tokens) for a random one of the 1,000 users, for 60 s. Correctness under load: every
// answer is a 200 that names exactly that user's version (no silent fallback to the base model), and the
// server's resident memory (VmRSS, sampled every second) is flat after warm-up: the least-squares slope over
// the second half of the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../runtime/node/launch.js';
import { type Measured, median, percentile, round } from './harness.js';
import type { OpResult, OpSpec } from './load-client.js';
import {
  BENCH_VERSION_PREFIX,
  failures,
  LOAD_ENV,
  LoadClient,
  metricValue,
  ProcessRss,
  prepareDataDir,
  slopeMBPerMin,
} from './platform.js';
import type { BenchContext } from './setup.js';
import { userAdapters } from './users.js';

const CONNECTIONS = 32;
const MAX_TOKENS = 16;
/** "Flat": the RSS slope over the second half of the run, in MB per minute. */
export const FLAT_MB_PER_MIN = 5;

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const count = ctx.quick ? 100 : 1000;
  const durationS = ctx.quick ? 10 : 60;
  const users = await userAdapters(ctx.pkg, count, ctx.log);
  const dataDir = mkdtempSync(join(tmpdir(), 'tailor-bench-load-'));
  const client = new LoadClient();
  try {
    const { apiKey } = await prepareDataDir(dataDir, users, count);
    const server = await startServer({
      ...LOAD_ENV,
      TAILOR_DATA_DIR: dataDir,
      DATABASE_URL: '',
      S3_BUCKET: '',
      TAILOR_WORKER: '0',
      TRAIN_INTERVAL_S: '0',
    });
    try {
      const op = (connections: number): OpSpec => ({
        name: 'generate',
        kind: 'generate',
        connections,
        apiKey,
        userPrefix: 'u',
        users: count,
        maxTokens: MAX_TOKENS,
        versionPrefix: BENCH_VERSION_PREFIX,
      });
      // Warm-up, not counted: a fresh server's first generations compile the engine threads' wasm and JIT the
      // paths (the very first takes seconds, and adapter loads queued behind it run past the load timeout).
      // One connection, then all 32.
      const warm = [
        ...(await client.run({ base: server.url, durationS: ctx.quick ? 3 : 5, ops: [op(1)] })),
        ...(await client.run({ base: server.url, durationS: ctx.quick ? 2 : 5, ops: [op(CONNECTIONS)] })),
      ];
      const warmFallbacks = warm.reduce((n, r) => n + (r.adapter?.fallback ?? 0), 0);
      ctx.log(
        `  warm-up: ${warm.reduce((n, r) => n + r.sent, 0)} generations, ${warmFallbacks} served by the base model (adapter load timed out)`,
      );
      const rss = new ProcessRss(server.pid);
      const [gen] = (await client.run({ base: server.url, durationS, ops: [op(CONNECTIONS)] })) as [OpResult];
      const samples = rss.stop();
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      if (gen.errors) ctx.log(`  ${failures([gen])}`);
      const a = gen.adapter as NonNullable<OpResult['adapter']>;
      const ok = gen.byStatus['200'] ?? 0;
      const half = samples.filter((p) => p.s >= durationS / 2);
      const slope = slopeMBPerMin(half);
      const first = samples[0]?.mb ?? 0;
      const mid = median(samples.filter((p) => Math.abs(p.s - durationS / 2) <= 2).map((p) => p.mb));
      const last = samples[samples.length - 1]?.mb ?? 0;
      const hits = metricValue(metrics, 'tailor_adapter_cache_hits_total');
      const misses = metricValue(metrics, 'tailor_adapter_cache_misses_total');
      const fallbacks = metricValue(metrics, 'tailor_adapter_fallbacks_total');
      const loads = metricValue(metrics, 'tailor_adapter_loads_total');
      const generations = gen.sent + warm.reduce((n, r) => n + r.sent, 0);
      ctx.log(
        `  ${gen.sent} generations sent, ${ok} answered 200 (${round(ok / gen.seconds, 1)}/s, ${round(a.completionTokens / gen.seconds, 0)} tokens/s), p50 ${round(percentile(gen.latenciesMs, 50), 0)} ms, p99 ${round(percentile(gen.latenciesMs, 99), 0)} ms; ${a.applied} applied the user's version, ${a.fallback} fell back, ${a.none} none, ${a.mismatch} another version; server metrics: ${fallbacks} fallbacks, cache ${hits} hits / ${misses} misses, ${loads} loads`,
      );
      ctx.log(
        `  server RSS ${round(first, 0)} MB at start, ${round(mid, 0)} MB at half time, ${round(last, 0)} MB at the end; slope over the second half ${round(slope, 2)} MB/min (${half.length} samples)`,
      );
      return [
        {
          id: 'generate_under_load_c32_requests_per_s',
          value: round(ok / gen.seconds, 1),
          unit: `req/s (${MAX_TOKENS} tokens, random user of ${count} with an active rank-8 adapter, ${durationS} s)`,
        },
        {
          id: 'generate_under_load_c32_tokens_per_s',
          value: round(a.completionTokens / gen.seconds, 0),
          unit: 'tokens/s',
        },
        {
          id: 'generate_under_load_c32_p50_ms_lower_is_better',
          value: round(percentile(gen.latenciesMs, 50), 1),
          unit: 'ms',
        },
        {
          id: 'generate_under_load_c32_p99_ms_lower_is_better',
          value: round(percentile(gen.latenciesMs, 99), 1),
          unit: 'ms',
        },
        {
          id: 'generate_under_load_c32_errors',
          value: gen.errors,
          unit: `errors of ${gen.sent} requests`,
          goal: '≤ 0 errors',
        },
        {
          id: 'generate_under_load_c32_without_the_users_adapter',
          value: a.fallback + a.none + a.mismatch,
          unit: `answers of ${ok} (fallback ${a.fallback}, none ${a.none}, another version ${a.mismatch})`,
          goal: '≤ 0 answers',
        },
        {
          id: 'generate_under_load_c32_adapter_cache_hit_rate',
          value: round(hits / Math.max(1, hits + misses), 3),
          unit: 'fraction of adapter-cache lookups (two a request: the route prepares, the generation looks up; default 64 MiB cache)',
        },
        {
          id: 'generate_under_load_c32_adapter_loads_per_generation',
          value: round(loads / Math.max(1, generations), 3),
          unit: `loads from storage per generation (${loads} for ${generations}, warm-up included)`,
        },
        {
          id: 'generate_under_load_warmup_fallbacks',
          value: warmFallbacks,
          unit: 'answers by the base model during the warm-up (not counted above)',
        },
        { id: 'generate_under_load_server_rss_start_mb', value: round(first, 1), unit: 'MB (after warm-up)' },
        { id: 'generate_under_load_server_rss_end_mb', value: round(last, 1), unit: 'MB' },
        {
          id: 'generate_under_load_server_rss_slope_second_half_mb_per_min_lower_is_better',
          value: round(slope, 2),
          unit: 'MB/min',
          goal: `≤ ${FLAT_MB_PER_MIN} MB/min`,
        },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
