// The engine on workerd: builds the Workers bundle of engine-worker.ts (infra/workers/build.ts), runs it
// in Miniflare with the base model package in an emulated R2 bucket, and checks that the Worker generates
// and scores exactly what the Node engine does for the same inputs (same ORT wasm build, one thread:
// results must be bit-identical, not merely close). One Miniflare instance, a handful of short requests.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../core/node/file-store.js';
import type { R2Bucket } from '../../core/storage/r2-store.js';
import { Engine, type GenerateResult, type ScoreResult } from '../../engine/index.js';
import { type BuiltWorker, buildWorker } from '../../infra/workers/build.js';
import { ISOLATE_LIMIT_BYTES, WORKERS_DEFAULTS } from './limits.js';

const root = resolve(import.meta.dirname, '../..');
const PREFIX = 'models/brown-4m/';
const BASE = 'brown-4m';
/** What loadModelPackage reads (tokenizer_config.json is optional there, but shipped). */
const PACKAGE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx'];

let outdir: string;
let built: BuiltWorker;
let mf: Miniflare;
let node: Engine;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'tailor-workerd-'));
  const [b, e] = await Promise.all([
    buildWorker({ entry: 'runtime/workers/engine-worker.ts', outdir, sourcemap: false }),
    Engine.load(new FileStore(root), PREFIX),
  ]);
  built = b;
  node = e;
  mf = new Miniflare({
    modules: built.modules,
    modulesRoot: built.outdir,
    compatibilityDate: '2025-01-01',
    r2Buckets: ['MODELS'],
  });
  const bucket = (await mf.getR2Bucket('MODELS')) as unknown as R2Bucket;
  for (const f of PACKAGE_FILES) {
    // A plain Uint8Array: Miniflare's serialisation refuses a Node Buffer.
    await bucket.put(`${PREFIX}${f}`, new Uint8Array(await readFile(join(root, PREFIX, f))));
  }
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await mf.dispatchFetch(`http://worker${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    throw new Error(`${path}: ${res.status} ${text.slice(0, 400)}`);
  }
}

/**
 * A generation result without what may differ between two runs: wall-clock timings, and the seed when
 * the request gave none (each run then draws its own; greedy decoding does not use it).
 */
function comparable(r: GenerateResult, seeded: boolean): Partial<GenerateResult> {
  const { timings, seed, ...rest } = r;
  expect(Object.keys(timings).sort()).toEqual(['firstTokenMs', 'tokensPerSecond', 'totalMs']);
  return seeded ? { ...rest, seed } : rest;
}

describe('the Workers bundle', () => {
  it('is Web-only: no node: or Node builtin import anywhere in it', () => {
    expect(built.nodeImports).toEqual([]);
    const imports = Object.values(built.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    // The one external import left is ORT's precompiled wasm, shipped beside the bundle.
    expect([...new Set(imports)]).toEqual(['./ort-wasm-simd-threaded.wasm']);
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs.filter((f) => f.startsWith('node:'))).toEqual([]);
    expect(inputs.some((f) => f.endsWith('onnxruntime-web/dist/ort.wasm.bundle.min.mjs'))).toBe(true);
    expect(inputs.some((f) => f.endsWith('onnxruntime-web/dist/ort.bundle.min.mjs'))).toBe(false);
  });
});

describe('engine on workerd (Miniflare) vs Node', () => {
  const greedy = { prompt: 'The detective opened the door and', maxTokens: 12, temperature: 0 };
  const seeded = { prompt: 'She looked at the sky', maxTokens: 12, temperature: 0.9, seed: 1234 };
  const stopped = { prompt: 'He said', maxTokens: 16, temperature: 1, topK: 20, seed: 7, stop: ['e'] };

  it('loads the model package from R2 through R2Store', async () => {
    const res = await mf.dispatchFetch('http://worker/healthz');
    const body = (await res.json()) as { ok: boolean; model: string; wasmMemoryBytes: number | null };
    expect(res.status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.model).toBe(PREFIX);
    // ORT's wasm heap, reported for the 128 MB isolate limit.
    expect(body.wasmMemoryBytes).toBeGreaterThan(0);
    console.info(`workerd: ORT wasm memory ${(Number(body.wasmMemoryBytes) / 2 ** 20).toFixed(1)} MiB`);
  });

  it('generates exactly what Node generates: greedy, seeded, with a stop string, concurrently', async () => {
    const cases: { prompt: string; seed?: number }[] = [greedy, seeded, stopped];
    const want = [];
    for (const { prompt, ...opts } of cases) {
      want.push(
        comparable(await node.generate(prompt, { ...opts, base: BASE }).result, opts.seed !== undefined),
      );
    }
    // Concurrent requests interleave step by step on the Worker's one session: still the same texts.
    const got = await Promise.all(cases.map((c) => post('/generate', c)));
    for (const g of got) expect(g.status).toBe(200);
    expect(got.map((g, i) => comparable(g.json as GenerateResult, cases[i]?.seed !== undefined))).toEqual(
      want,
    );
    expect(want[0]?.completionTokens).toBeGreaterThan(0);
    expect(want[1]?.seed).toBe(1234);
    expect(want[2]?.finishReason).toBe('stop');
  });

  it('decodes 8 generations together at a full window within the isolate limit, cache budget included', async () => {
    // Long enough to fill the 256-position window and slide: the KV caches are as large as they get.
    const body = (i: number) => ({
      prompt: `Chapter ${i}. The road`,
      maxTokens: 300,
      temperature: 0.8,
      seed: i,
    });
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/generate', body(i))));
    for (const g of got) expect(g.status).toBe(200);
    const alone = await node.generate(body(3).prompt, { ...body(3), base: BASE }).result;
    expect((got[3]?.json as GenerateResult | undefined)?.text).toBe(alone.text); // batching changed nothing
    const res = await mf.dispatchFetch('http://worker/healthz');
    const h = (await res.json()) as { wasmMemoryBytes: number; batching: { runs: number; rows: number } };
    expect(h.batching.rows / h.batching.runs).toBeGreaterThan(4);
    // The wasm heap only grows: what it holds now is its peak. Beside it: the adapter cache's budget and
    // room for the JS heap (tokenizer, requests, the batch's caches on their way in and out).
    const cache = Number(WORKERS_DEFAULTS.ADAPTER_CACHE_MB) * 2 ** 20;
    const js = 24 * 2 ** 20;
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    console.info(
      `workerd, batch of 8 at a full window: wasm ${mib(h.wasmMemoryBytes)} + cache ${mib(cache)} + JS ${mib(js)}`,
    );
    expect(h.wasmMemoryBytes + cache + js).toBeLessThanOrEqual(ISOLATE_LIMIT_BYTES);
  }, 120_000);

  it('scores exactly what Node scores, with and without a context', async () => {
    const texts = ['The night was dark and cold.', 'He laughed.', ''];
    const context = 'Once upon a time, in a small town,';
    const [plain, withContext] = await Promise.all([
      post('/score', { texts }),
      post('/score', { texts, context }),
    ]);
    expect(plain.status).toBe(200);
    expect(withContext.status).toBe(200);
    const results = (r: { json: unknown }) => (r.json as { results: ScoreResult[] }).results;
    expect(results(plain)).toEqual(await node.score(texts, { base: BASE }));
    expect(results(withContext)).toEqual(await node.score(texts, { base: BASE, context }));
  });

  it('answers bad requests with 400 and a JSON error', async () => {
    const notString = await post('/generate', { prompt: 1 });
    expect(notString.status).toBe(400);
    expect(notString.json).toMatchObject({ error: { code: 'bad_request' } });
    const badOption = await post('/generate', { prompt: 'x', maxTokens: 0 });
    expect(badOption.status).toBe(400);
    const noTexts = await post('/score', { texts: [] });
    expect(noTexts.status).toBe(400);
  });
});
