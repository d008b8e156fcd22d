// Serving under concurrent load, over real HTTP on loopback against Tailor's Node process: /healthz latency
// while long generations run, aggregate tokens/s with 2 engine threads vs 1, one stream through the pool vs
// the engine on the HTTP thread, and time to first token when 16 requests arrive at once. The servers run
// side by side; comparisons alternate between them round by round (interleave) so drift hits both.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { interleave, type Measured, median, percentile, round, speedup } from './harness.js';
import type { BenchContext } from './setup.js';

const ADMIN = 'bench-admin-token-0123456789';

export interface Platform {
  server: RunningServer;
  key: string;
  dir: string;
}

const platform = (threads: string) => benchPlatform(`serving-${threads}`, { ENGINE_THREADS: threads });

/** A server of its own (no worker, no rate limits, a throwaway data directory) and an app's key on it. */
export async function benchPlatform(tag: string, env: Record<string, string>): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), `tailor-bench-${tag}-`));
  const server = await startServer({
    TAILOR_DATA_DIR: dir,
    ADMIN_TOKEN: ADMIN,
    TAILOR_WORKER: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
    ...env,
  });
  const app = await fetch(`${server.url}/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  return { server, key: (await app.json()).api_key, dir };
}

export async function close(p: Platform | undefined): Promise<void> {
  if (!p) return;
  await p.server.stop();
  rmSync(p.dir, { recursive: true, force: true });
}

/** One generation; resolves with its completion tokens and, streamed, the time to its first token. */
async function generate(p: Platform, i: number, maxTokens: number, stream: boolean) {
  const t0 = performance.now();
  const res = await fetch(`${p.server.url}/v1/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      user: `user-${i}`,
      prompt: 'Once upon a time',
      max_tokens: maxTokens,
      seed: i,
      stream,
    }),
  });
  if (!stream) {
    const body = await res.json();
    if (res.status !== 200) throw new Error(`generate: ${res.status} ${JSON.stringify(body)}`);
    return {
      tokens: body.usage.completion_tokens as number,
      firstTokenMs: Number.NaN,
      ms: performance.now() - t0,
    };
  }
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let first = Number.NaN;
  let text = '';
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (Number.isNaN(first)) first = performance.now() - t0;
    text += dec.decode(value, { stream: true });
  }
  const done = /event: done\ndata: (.*)/.exec(text)?.[1];
  if (!done) throw new Error(`stream ended without done: ${text.slice(-200)}`);
  return {
    tokens: JSON.parse(done).usage.completion_tokens as number,
    firstTokenMs: first,
    ms: performance.now() - t0,
  };
}

/** `n` requests at once; tokens per second over the wall time of all of them. */
async function concurrent(p: Platform, n: number, maxTokens: number, stream = false) {
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: n }, (_, i) => generate(p, i, maxTokens, stream)));
  const seconds = (performance.now() - t0) / 1000;
  return { tokensPerSecond: all.reduce((s, r) => s + r.tokens, 0) / seconds, all };
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const out: Measured[] = [];
  const rounds = ctx.quick ? 1 : 4;
  let two: Platform | undefined;
  let one: Platform | undefined;
  let inThread: Platform | undefined;
  try {
    [two, one, inThread] = [await platform('2'), await platform('1'), await platform('0')];

    // /healthz while 16 generations of 512 tokens run, on the pool and on the HTTP thread.
    for (const [name, p] of [
      ['2 engine threads', two],
      ['the HTTP thread (ENGINE_THREADS=0)', inThread],
    ] as const) {
      let running = true;
      const load = concurrent(p, 16, ctx.quick ? 128 : 512).finally(() => {
        running = false;
      });
      const latencies: number[] = [];
      await new Promise((r) => setTimeout(r, 200));
      while (running) {
        const t0 = performance.now();
        await (await fetch(`${p.server.url}/healthz`)).text();
        if (running) latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      await load;
      const p99 = round(percentile(latencies, 99), 1);
      ctx.log(
        `  healthz during 16 × 512 tokens, engine on ${name}: p50 ${round(median(latencies), 1)} ms, p99 ${p99} ms (${latencies.length} probes)`,
      );
      out.push({
        id: `healthz_p99_ms_during_16_generations_of_512_tokens_${p === two ? 'engine_threads_2' : 'http_thread'}_lower_is_better`,
        value: p99,
        unit: 'ms',
        ...(p === two ? { goal: '≤ 50 ms' } : {}),
      });
    }

    // Aggregate tokens/s of 8 concurrent requests, 2 engine threads vs 1.
    const maxTokens = ctx.quick ? 64 : 128;
    const agg: Record<string, number[]> = { two: [], one: [] };
    const times = await interleave(
      [two, one].map((p, k) => ({
        name: k === 0 ? 'two' : 'one',
        run: async (measured: boolean) => {
          const r = await concurrent(p, 8, maxTokens);
          if (measured) agg[k === 0 ? 'two' : 'one']?.push(r.tokensPerSecond);
          return 1000 / r.tokensPerSecond;
        },
      })),
      rounds,
    );
    const aggRatio = speedup(times.two as number[], times.one as number[]);
    out.push({
      id: 'aggregate_tokens_per_s_8_concurrent_engine_threads_2',
      value: round(median(agg.two as number[]), 0),
      unit: 'tok/s',
      vs: '1 engine thread, same 8 requests, interleaved rounds',
      ratio: round(aggRatio, 3),
      goal: '≥ 1.7×',
    });

    // One stream alone: through the pool (1 thread) vs the engine on the HTTP thread.
    const single: Record<string, number[]> = { pool: [], local: [] };
    const singleTimes = await interleave(
      [one, inThread].map((p, k) => ({
        name: k === 0 ? 'pool' : 'local',
        run: async (measured: boolean) => {
          const r = await generate(p, 1, ctx.quick ? 64 : 256, true);
          if (measured) single[k === 0 ? 'pool' : 'local']?.push((r.tokens * 1000) / r.ms);
          return r.ms / r.tokens;
        },
      })),
      rounds * 4,
    );
    out.push({
      id: 'single_stream_tokens_per_s_engine_pool',
      value: round(median(single.pool as number[]), 0),
      unit: 'tok/s',
      vs: 'the engine on the HTTP thread (ENGINE_THREADS=0), same stream, interleaved',
      ratio: round(speedup(singleTimes.pool as number[], singleTimes.local as number[]), 3),
      goal: '≥ 0.95×',
    });

    // Time to first token when 16 streams arrive at once (it includes their wait for a free step).
    const ttft = (await concurrent(two, 16, ctx.quick ? 32 : 64, true)).all.map((r) => r.firstTokenMs);
    out.push(
      {
        id: 'ttft_p99_ms_16_concurrent_streams_engine_threads_2_lower_is_better',
        value: round(percentile(ttft, 99), 1),
        unit: 'ms',
      },
      {
        id: 'ttft_p50_ms_16_concurrent_streams_engine_threads_2_lower_is_better',
        value: round(median(ttft), 1),
        unit: 'ms',
      },
    );
    return out;
  } finally {
    await Promise.all([close(two), close(one), close(inThread)]);
  }
}
