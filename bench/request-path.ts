// 16. The request path: a 96-token greedy generation without an adapter over HTTP (`POST /v1/generate` to a
// server as `npm start` runs it: its engine threads, PGlite, the generation stored) against transformers.js
// generating the same tokens in this process on onnxruntime-web (wasm, one thread), interleaved — and the
// engine alone in this process, for what the engine itself gets. What the HTTP side spends around the engine
// is broken down by the server's own Server-Timing header (auth, settings, resolve, memory, tokenize, load,
// seen, prefill, decode, the hop to the engine thread and back, the insert); the rest of the client's wall time
// is the HTTP exchange itself (parsing, JSON, the socket).
import { Engine } from '../engine/index.js';
import { parseServerTiming } from '../functions/http/server-timing.js';
import { interleave, type Measured, median, round, type Side, speedup } from './harness.js';
import { loadTransformersPeer } from './peers/transformers.js';
import { benchPlatform, close, type Platform } from './serving.js';
import { ADAPTERS, type BenchContext, ensureBaseOnlyExport, generate, promptWithoutEos } from './setup.js';

const TOKENS = 96;
const STAGES = [
  'auth',
  'tokenize',
  'settings',
  'resolve',
  'memory',
  'load',
  'seen',
  'prefill',
  'decode',
  'hop',
  'insert',
];

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const n = ctx.quick ? 16 : TOKENS;
  const rounds = ctx.quick ? 2 : 40;
  const dir = ensureBaseOnlyExport(ctx.log);
  const engine = new Engine(ctx.pkg, { loader: ADAPTERS }); // as served: the base-only lane
  await engine.ready;
  const { prompt, ids } = await promptWithoutEos(n, [[engine]]);
  const web = await loadTransformersPeer(dir, 'web');
  let p: Platform | undefined;
  try {
    p = await benchPlatform('request-path', {});
    const platform = p;
    const want = (await generate(engine, prompt, n)).text;
    const stages: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
    const unstaged: number[] = [];
    const exchange: number[] = [];
    const overHttp = async (measured: boolean) => {
      const t0 = performance.now();
      const res = await fetch(`${platform.server.url}/v1/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'reader', prompt, max_tokens: n, temperature: 0, memory: 'none' }),
      });
      const body = (await res.json()) as { text: string; usage: { completion_tokens: number } };
      const ms = performance.now() - t0;
      if (body.usage?.completion_tokens !== n || body.text !== want)
        throw new Error(`over HTTP: ${JSON.stringify(body).slice(0, 200)} is not the ${n} tokens in process`);
      if (measured) {
        const timing = parseServerTiming(res.headers.get('server-timing'));
        for (const s of STAGES) stages[s]?.push(timing[s] ?? 0);
        // Resolve and memory run side by side: the longer of the two is what the request waited.
        const staged = STAGES.filter((s) => s !== 'resolve' && s !== 'memory').reduce(
          (t, s) => t + (timing[s] ?? 0),
          0,
        );
        const serial = staged + Math.max(timing.resolve ?? 0, timing.memory ?? 0);
        unstaged.push(Math.max(0, (timing.total ?? 0) - serial));
        exchange.push(Math.max(0, ms - (timing.total ?? 0)));
      }
      return ms;
    };
    const peer = async () => {
      const r = await web.generate(ids, n);
      if (r.ids.length !== n) throw new Error(`transformers.js generated ${r.ids.length} tokens`);
      return r.ms;
    };
    const alone = async () => (await generate(engine, prompt, n)).timings.totalMs;
    // The floor of any request to this server: a GET /healthz round trip (one database ping, no engine).
    const floor: number[] = [];
    const healthz = async (measured: boolean) => {
      const t0 = performance.now();
      await (await fetch(`${platform.server.url}/healthz`)).arrayBuffer();
      const ms = performance.now() - t0;
      if (measured) floor.push(ms);
      return ms;
    };
    const sides: Side[] = [
      { name: 'http', run: overHttp },
      { name: 'tjs-web', run: peer },
      { name: 'engine', run: alone },
      { name: 'healthz', run: healthz },
    ];
    const samples = await interleave(sides, rounds, 2);
    const ms = (name: string) => samples[name] as number[];
    const peerName =
      'transformers.js on onnxruntime-web (wasm, 1 thread) in this process, the base-only export of the same weights';
    return [
      {
        id: `request_path_tokens_per_s_greedy_${n}_over_http`,
        value: round((n * 1000) / median(ms('http')), 1),
        unit: 'tokens/s',
        vs: peerName,
        ratio: round(speedup(ms('http'), ms('tjs-web'))),
        goal: '≥ 0.95×',
      },
      {
        id: `request_path_tokens_per_s_greedy_${n}_engine_alone`,
        value: round((n * 1000) / median(ms('engine')), 1),
        unit: 'tokens/s',
        vs: peerName,
        ratio: round(speedup(ms('engine'), ms('tjs-web'))),
      },
      ...STAGES.map((s) => ({
        id: `request_path_${s}_ms_median_lower_is_better`,
        value: round(median(stages[s] ?? [0]), 3),
        unit: 'ms',
      })),
      {
        id: 'request_path_unstaged_in_server_ms_median_lower_is_better',
        value: round(median(unstaged), 3),
        unit: 'ms (in the server before the answer, in no stage: middleware, body parsing, validation)',
      },
      {
        id: 'request_path_healthz_round_trip_ms_median_lower_is_better',
        value: round(median(floor), 3),
        unit: 'ms (GET /healthz from the same client: the floor of a request to this server)',
      },
      {
        id: 'request_path_http_exchange_ms_median_lower_is_better',
        value: round(median(exchange), 3),
        unit: 'ms (client wall time after the server made its answer, and before it began: JSON, the socket)',
      },
    ];
  } finally {
    await close(p);
  }
}
