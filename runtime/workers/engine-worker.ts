// A Worker that serves the inference engine alone (a test and demo entry; the HTTP app gets its own
// entry, built the same way). The base model package is read from the R2 binding MODELS once per isolate,
// on the first request (a Worker may not do I/O at startup), and shared by every later request.
//
//   POST /generate { prompt, maxTokens?, temperature?, topP?, topK?, seed?, stop?, logprobs? } → the engine's result
//   POST /score    { texts, context? }                                            → { results }
//   GET  /healthz                                                                  → { ok, model, wasmMemoryBytes, batching }
//
// Errors: JSON `{ error: { code, message } }`, 400 for a bad body or options (RangeError), 500 otherwise.
import './install-ort-wasm.js';
import { type R2Bucket, R2Store } from '../../core/storage/r2-store.js';
import { Engine } from '../../engine/index.js';
import { perIsolate } from './isolate.js';
import { WORKERS_DEFAULTS } from './limits.js';
import { ortWasmMemoryBytes } from './ort-wasm.js';

export interface EngineWorkerEnv {
  MODELS: R2Bucket;
  /** Prefix of the base model package in MODELS. Default `models/brown-4m/`. */
  MODEL_PREFIX?: string;
}

const DEFAULT_PREFIX = 'models/brown-4m/';

const getEngine = perIsolate((env: EngineWorkerEnv) =>
  Engine.load(new R2Store(env.MODELS), env.MODEL_PREFIX ?? DEFAULT_PREFIX, {
    adapterCacheBytes: Number(WORKERS_DEFAULTS.ADAPTER_CACHE_MB) * 1024 * 1024,
    maxBatch: Number(WORKERS_DEFAULTS.TAILOR_MAX_BATCH),
    baseOnlyGraph: false,
  }),
);

/** The one base model this Worker serves (the package under MODEL_PREFIX): every call runs on it. */
const servedBase = (e: Engine): string => e.bases()[0]?.id as string;

class BadRequest extends Error {}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new BadRequest('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest('the body is not a JSON object');
  return body as Record<string, unknown>;
}

function optionalNumber(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest(`${name} must be a number`);
  return v;
}

function stringList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new BadRequest(`${name} must be a list of strings`);
  return v;
}

async function generate(env: EngineWorkerEnv, req: Request): Promise<Response> {
  const body = await readBody(req);
  if (typeof body.prompt !== 'string') throw new BadRequest('prompt must be a string');
  const e = await getEngine(env);
  const gen = e.generate(body.prompt, {
    base: servedBase(e),
    maxTokens: optionalNumber(body, 'maxTokens'),
    temperature: optionalNumber(body, 'temperature'),
    topP: optionalNumber(body, 'topP'),
    topK: optionalNumber(body, 'topK'),
    seed: optionalNumber(body, 'seed'),
    logprobs: optionalNumber(body, 'logprobs'),
    ...(body.stop !== undefined ? { stop: stringList(body.stop, 'stop') } : {}),
    signal: req.signal,
  });
  return json(await gen.result);
}

async function score(env: EngineWorkerEnv, req: Request): Promise<Response> {
  const body = await readBody(req);
  const texts = stringList(body.texts, 'texts');
  if (texts.length < 1 || texts.length > 16) throw new BadRequest('texts must hold 1 to 16 strings');
  if (body.context !== undefined && typeof body.context !== 'string')
    throw new BadRequest('context must be a string');
  const e = await getEngine(env);
  const results = await e.score(texts, { base: servedBase(e), context: body.context as string | undefined });
  return json({ results });
}

async function route(req: Request, env: EngineWorkerEnv): Promise<Response> {
  const { pathname } = new URL(req.url);
  if (pathname === '/generate' && req.method === 'POST') return generate(env, req);
  if (pathname === '/score' && req.method === 'POST') return score(env, req);
  if (pathname === '/healthz' && req.method === 'GET') {
    const e = await getEngine(env);
    const { batching } = e.metrics();
    const model = e.model(servedBase(e)).prefix;
    return json({ ok: true, model, wasmMemoryBytes: ortWasmMemoryBytes(), batching });
  }
  return json({ error: { code: 'not_found', message: `no route ${req.method} ${pathname}` } }, 404);
}

export default {
  async fetch(req: Request, env: EngineWorkerEnv): Promise<Response> {
    try {
      return await route(req, env);
    } catch (e) {
      if (e instanceof BadRequest || e instanceof RangeError)
        return json({ error: { code: 'bad_request', message: e.message } }, 400);
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return json({ error: { code: 'internal', message } }, 500);
    }
  },
};
