// Property-based fuzzing (fast-check, fixed seeds) of every route's request: valid requests mutated (a field
// dropped, of the wrong type, huge, negative, NaN-ish, NUL, lone surrogates, very long, extra fields, nested
// junk, arrays for objects), random JSON and bytes as bodies, hostile path segments, query strings, cursors,
// headers and methods. Whatever comes in: never a 5xx, an answer within a bound (no hang), a non-2xx in the
// API's error shape `{ error: { code, message } }`, and a non-2xx writes nothing (every row of every table and
// every stored file as they were). The route list comes from /openapi.json: a route without a case fails.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAdapter } from '../../engine/testing.js';
import { tinyCheckpoint } from '../../test/support/checkpoint.js';
import { b64, jwt, nowS, userToken, watchWrites } from '../../test/support/hostile.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

const SEED = 20_260_517;
/** A request that takes longer than this is a hang (generations here are one or two tokens). */
const TIMEOUT_MS = 15_000;
/** fast-check runs per property: the file stays well under a minute on two cores. */
const RUNS = { body: 24, raw: 120, path: 150, query: 120, cursor: 60, headers: 150, methods: 60 };

let p: TestPlatform;
let A: { app_id: string; api_key: string; signing_secret: string };
/** An app for the routes that change an app's settings, keys and secrets (A's stay as they are). */
let S: { app_id: string; api_key: string; signing_secret: string };
let genId: string;
let jobId: string;
let spareKeyId: string;
let spareHookId: string;
/** A's endpoint whose secret the rotation's cases rotate. */
let rotatedHookId: string;
let fileLink: string;
let styleFiles: { config: string; model: string };

// ── the requests ────────────────────────────────────────────────────────────────────────────────────

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Every hostile request sent, once each (its method, path, headers and body). */
const sent = new Set<string>();
/** Rows written and files stored, now. */
let writes: () => Promise<string>;
/** The same after the last answer that may have written (a 2xx). */
let stored: string;

const resync = async () => {
  stored = await writes();
};

function withTimeout<T>(what: Promise<T>, req: Req): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${TIMEOUT_MS} ms: ${req.method} ${req.path.slice(0, 200)}`)),
      TIMEOUT_MS,
    );
  });
  return Promise.race([what, late]).finally(() => clearTimeout(timer));
}

/** Sends a hostile request and holds the answer to the properties. */
async function send(req: Req): Promise<{ status: number; json: any; text: string }> {
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body;
  sent.add(
    JSON.stringify([
      req.method,
      req.path,
      Object.entries(req.headers ?? {}).sort(),
      body === undefined ? null : typeof body === 'string' ? body : Buffer.from(body).toString('base64'),
    ]),
  );
  const res = await withTimeout(
    Promise.resolve(
      p.app.request(`http://localhost${req.path}`, {
        method: req.method,
        headers: req.headers ?? {},
        ...(body !== undefined ? { body: body as BodyInit } : {}),
      }),
    ),
    req,
  );
  const text = await withTimeout(res.text(), req);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const where = `${req.method} ${req.path.slice(0, 300)} [${JSON.stringify(req.headers ?? {}).slice(0, 300)}] ${
    typeof body === 'string' ? body.slice(0, 300) : ''
  } → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 200 && res.status < 300) {
    stored = await writes();
  } else {
    // A HEAD answer has no body; a redirect (/console → /console/) carries none either.
    if (req.method !== 'HEAD' && (res.status < 300 || res.status >= 400)) {
      expect(typeof json?.error?.code === 'string' && json.error.code.length > 0, where).toBe(true);
      expect(typeof json?.error?.message === 'string' && json.error.message.length > 0, where).toBe(true);
    }
    expect(await writes(), where).toEqual(stored);
  }
  return { status: res.status, json, text };
}

// ── the routes, each with a request it accepts ──────────────────────────────────────────────────────

interface RouteCase {
  /** `METHOD /path/{param}`, as in /openapi.json. */
  op: string;
  /** Credentials it accepts (null: none needed). */
  auths: (string | null)[];
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
}

const alice = () => userToken('alice', A);

function routeCases(): RouteCase[] {
  const app = [A.api_key, alice()];
  const admin = [ADMIN];
  const a = { app: A.app_id };
  const s = { app: S.app_id };
  const [filePath, fileQuery] = fileLink.split('?') as [string, string];
  return [
    {
      op: 'POST /v1/generate',
      auths: app,
      body: { user: 'alice', prompt: 'Once', max_tokens: 1, temperature: 0, seed: 1, stop: ['.'] },
    },
    { op: 'POST /v1/score', auths: app, body: { user: 'alice', texts: ['a tale'], context: 'Once' } },
    {
      op: 'POST /v1/completions',
      auths: app,
      body: {
        model: p.services.baseModelId,
        user: 'alice',
        prompt: 'Once',
        max_tokens: 1,
        seed: 1,
        stop: '.',
      },
    },
    {
      op: 'POST /v1/chat/completions',
      auths: app,
      body: {
        model: p.services.baseModelId,
        user: 'alice',
        messages: [{ role: 'user', content: 'Once' }],
        max_tokens: 1,
        temperature: 0,
      },
    },
    { op: 'GET /v1/models', auths: app },
    { op: 'GET /v1/models/{model}', auths: app, params: { model: 'brown-4m' } },
    { op: 'GET /v1/models/{model}/files', auths: app, params: { model: 'brown-4m' } },
    {
      op: 'POST /v1/feedback',
      auths: app,
      body: { user: 'alice', generation_id: genId, rating: 1, edited_text: 'mine', idempotency_key: 'k1' },
    },
    { op: 'GET /v1/users/{user}/adapter', auths: app, params: { user: 'alice' } },
    { op: 'GET /v1/users/{user}/export', auths: app, params: { user: 'alice' } },
    { op: 'PUT /v1/users/{user}/training', auths: app, params: { user: 'alice' }, body: { enabled: true } },
    { op: 'DELETE /v1/users/{user}', auths: [A.api_key], params: { user: 'doomed' } },
    { op: 'POST /v1/webhooks', auths: [A.api_key], body: { url: 'https://hooks.example.com/tailor' } },
    { op: 'GET /v1/webhooks', auths: [A.api_key] },
    { op: 'DELETE /v1/webhooks/{id}', auths: [A.api_key], params: { id: spareHookId } },
    {
      op: 'POST /v1/webhooks/{id}/rotate-secret',
      auths: [A.api_key],
      params: { id: rotatedHookId },
      body: { overlap_s: 60 },
    },
    { op: 'GET /admin/apps/{app}/webhooks', auths: admin, params: a },
    {
      op: 'GET /v1/files/{key}',
      auths: [null],
      params: { key: filePath.slice('/v1/files/'.length) },
      query: Object.fromEntries(new URLSearchParams(fileQuery)),
    },
    { op: 'POST /admin/apps', auths: admin, body: { name: 'fuzzed' } },
    { op: 'GET /admin/apps', auths: admin, query: { limit: '2' } },
    { op: 'GET /admin/apps/{app}', auths: admin, params: a },
    { op: 'GET /admin/apps/{app}/settings', auths: admin, params: a },
    {
      op: 'PATCH /admin/apps/{app}/settings',
      auths: admin,
      params: s,
      body: { defaults: { adapter: 'auto' }, retention: { feedback_days: null } },
    },
    { op: 'GET /admin/apps/{app}/users', auths: admin, params: a, query: { limit: '5', q: 'al' } },
    { op: 'GET /admin/apps/{app}/feedback', auths: admin, params: a, query: { limit: '5', user: 'alice' } },
    {
      op: 'GET /admin/apps/{app}/generations',
      auths: admin,
      params: a,
      query: { limit: '5', user: 'alice' },
    },
    {
      op: 'POST /admin/apps/{app}/generate',
      auths: admin,
      params: a,
      body: { user: 'alice', prompt: 'Once', max_tokens: 1, adapter: { version: 'v1' } },
    },
    {
      op: 'POST /admin/apps/{app}/score',
      auths: admin,
      params: a,
      body: { user: 'alice', texts: ['a tale'], adapter: 'none' },
    },
    { op: 'GET /admin/apps/{app}/users/{user}', auths: admin, params: { ...a, user: 'alice' } },
    { op: 'DELETE /admin/apps/{app}/users/{user}', auths: admin, params: { ...a, user: 'doomed-too' } },
    { op: 'GET /admin/apps/{app}/styles', auths: admin, params: a },
    {
      op: 'POST /admin/apps/{app}/styles',
      auths: admin,
      params: a,
      body: { style: 'noir', texts: ['It was a dark night.'] },
    },
    {
      op: 'GET /admin/jobs',
      auths: admin,
      query: { limit: '3', app: A.app_id, status: 'queued', kind: 'train-style' },
    },
    { op: 'GET /admin/jobs/{id}', auths: admin, params: { id: jobId } },
    { op: 'POST /admin/training/run', auths: admin, body: { app: A.app_id, users: ['alice'], wait: false } },
    { op: 'GET /admin/apps/{app}/keys', auths: admin, params: a },
    { op: 'POST /admin/apps/{app}/keys', auths: admin, params: s },
    { op: 'DELETE /admin/apps/{app}/keys/{key}', auths: admin, params: { ...s, key: spareKeyId } },
    { op: 'GET /admin/apps/{app}/signing-secrets', auths: admin, params: a },
    {
      op: 'POST /admin/apps/{app}/signing-secrets/rotate',
      auths: admin,
      params: s,
      body: { overlap_s: 86_400 },
    },
    { op: 'GET /admin/overview', auths: admin, query: { app: A.app_id, range: '24h' } },
    {
      op: 'GET /admin/apps/{app}/effect',
      auths: admin,
      params: a,
      query: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00.000+01:00' },
    },
    { op: 'GET /admin/model', auths: admin },
    { op: 'GET /admin/models', auths: admin },
    // a checkpoint's config.json (the body is the file's bytes, here JSON), then the import of the stored one
    {
      op: 'PUT /admin/model-uploads/{upload}/{file}',
      auths: admin,
      params: { upload: 'fuzz-upload', file: 'config.json' },
      body: { model_type: 'llama' },
    },
    { op: 'POST /admin/models', auths: admin, body: { name: 'fuzz-base', upload: 'fuzz' } },
    { op: 'GET /admin/audit', auths: admin, query: { limit: '5', app: A.app_id, action: 'app.created' } },
    {
      op: 'GET /admin/apps/{app}/adapters',
      auths: admin,
      params: a,
      query: { user: 'alice', status: 'active', limit: '5' },
    },
    {
      op: 'POST /admin/adapters/promote',
      auths: admin,
      body: { app: A.app_id, user: 'alice', version: 'v1' },
    },
    { op: 'POST /admin/adapters/rollback', auths: admin, body: { app: A.app_id, user: 'alice' } },
    {
      op: 'POST /admin/apps/{app}/styles/import',
      auths: admin,
      params: a,
      body: { style: 'imported', adapter_config: styleFiles.config, adapter_model: styleFiles.model },
    },
    { op: 'GET /healthz', auths: [null] },
    { op: 'GET /metrics', auths: [null] },
    { op: 'GET /openapi.json', auths: [null] },
    { op: 'GET /docs', auths: [null] },
  ];
}

const split = (op: string) => op.split(' ') as [string, string];
const fill = (template: string, params: Record<string, string> = {}, raw: Record<string, string> = {}) =>
  template.replace(/\{(\w+)\}/g, (_, k: string) =>
    k in raw
      ? (raw[k] as string)
      : k === 'key'
        ? (params[k] ?? '').split('/').map(encodeURIComponent).join('/')
        : encodeURIComponent(params[k] ?? ''),
  );
const qs = (q: Record<string, string> = {}) => {
  const s = new URLSearchParams(q).toString();
  return s ? `?${s}` : '';
};

/** The request a case accepts, with changes. */
function request(
  c: RouteCase,
  opts: {
    auth?: string | null;
    rawParams?: Record<string, string>;
    query?: string;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    method?: string;
  } = {},
): Req {
  const [method, template] = split(c.op);
  const auth = opts.auth !== undefined ? opts.auth : (c.auths[0] ?? null);
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  const body = opts.body ?? (c.body !== undefined ? JSON.stringify(c.body) : undefined);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return {
    method: opts.method ?? method,
    path: fill(template, c.params, opts.rawParams) + (opts.query ?? qs(c.query)),
    headers: { ...headers, ...opts.headers },
    ...(body !== undefined ? { body } : {}),
  };
}

// ── the junk ────────────────────────────────────────────────────────────────────────────────────────

const deep = (n: number, leaf: unknown, obj = false): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = obj ? { a: v } : [v];
  return v;
};

const hostileString = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '.',
  '..',
  '../../etc/passwd',
  '%00',
  '%2e%2e',
  '%ZZ',
  '\\',
  '%',
  '_',
  "'; drop table apps; --",
  '<script>alert(1)</script>',
  'é',
  '😀',
  '\u202e',
  '\ufeff',
  'NaN',
  'Infinity',
  '-1',
  '1e999',
  '0x1F',
  'null',
  'true',
  '[]',
  '{}',
  'x'.repeat(129),
  'word '.repeat(1_000),
  'x'.repeat(40_000),
);
const hostileNumber = fc.constantFrom(
  -1,
  0,
  1.5,
  -0.5,
  1e308,
  -1e308,
  5e-324,
  2 ** 53,
  -(2 ** 53),
  2 ** 31,
  4097,
  100_000,
);
const loneSurrogates = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('a', '.', '\u0000', '%'),
  ),
  maxLength: 12,
});
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileNumber, weight: 3 },
  fc.constantFrom(null, true, false, [], {}, [null], [{}], { a: { b: [1, 'x', null] } }),
  fc.constantFrom(deep(300, 'x'), deep(300, 1, true), deep(50, { user: 'alice' })),
  fc.string({ unit: 'binary', maxLength: 30 }),
  loneSurrogates,
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(hostileString, { maxLength: 20 }),
);

type Mutation = {
  kind: 'drop' | 'set' | 'add' | 'deep' | 'whole';
  pick: number;
  key: string;
  value: unknown;
};
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind'][]>('drop', 'set', 'set', 'set', 'add', 'deep', 'deep', 'whole'),
  pick: fc.nat(),
  key: fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom('__proto__', 'constructor', 'user', 'prompt', 'maxTokens', 'app', 'style'),
  ),
  value: junk,
});

const own = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** One change to a JSON value (a copy). */
function mutate(v: unknown, m: Mutation): unknown {
  if (m.kind === 'whole') return m.value;
  if (Array.isArray(v)) {
    const a = [...v];
    if (a.length === 0 || m.kind === 'add') return [...a, m.value];
    const i = m.pick % a.length;
    if (m.kind === 'drop') a.splice(i, 1);
    else if (m.kind === 'deep' && typeof a[i] === 'object' && a[i] !== null)
      a[i] = mutate(a[i], { ...m, pick: m.pick >> 3 });
    else a[i] = m.value;
    return a;
  }
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) own(o, k, x);
    const keys = Object.keys(o);
    if (keys.length === 0 || m.kind === 'add') return own(o, m.key, m.value);
    const k = keys[m.pick % keys.length] as string;
    if (m.kind === 'drop') delete o[k];
    else if (m.kind === 'deep' && typeof o[k] === 'object' && o[k] !== null)
      own(o, k, mutate(o[k], { ...m, pick: m.pick >> 3 }));
    else own(o, k, m.value);
    return o;
  }
  return m.value;
}

/** A hostile path segment, sent as it is (no encoding added). */
const hostileSegment = fc.oneof(
  fc.constantFrom(
    '.',
    '..',
    '...',
    '%2e',
    '%2e%2e',
    '%2E%2E%2F',
    '..%2f..%2f',
    '%00',
    'a%00b',
    '%ZZ',
    '%',
    '%e0%a4%a',
    '%C0%AE',
    '%ED%A0%80',
    '%F0%9F%98%80',
    'é',
    '😀',
    '\u202e',
    '%20',
    '%09',
    ' a',
    'a%2Fb',
    'a;b',
    'a@b:c',
    '%5C',
    '\\',
    '*',
    '~',
    '$',
    'x'.repeat(129),
    'x'.repeat(5_000),
    'app_00000000000000000000000000',
    'sks_x',
    'null',
    'undefined',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }).filter((s) => !/[#?/]/.test(s)),
);

/** Percent-encoded; a string with a lone surrogate (which encodeURIComponent refuses) as it is. */
const encode = (v: string) => {
  try {
    return encodeURIComponent(v);
  } catch {
    return v;
  }
};

/** Printable header text (what a Headers object takes). */
const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});

// ── the platform ────────────────────────────────────────────────────────────────────────────────────

beforeAll(async () => {
  p = await startPlatform({ MAX_BODY_BYTES: String(128 * 1024), MAX_PROMPT_TOKENS: '32' });
  // No worker trains here: a run enqueues nothing and answers with no jobs.
  p.services.training = { runCycle: async () => [] };
  A = await p.newApp('fuzzed');
  S = await p.newApp('settings');
  const g = await p.call('POST', '/v1/generate', {
    key: A.api_key,
    body: { user: 'alice', prompt: 'Once', max_tokens: 2 },
  });
  genId = g.json.id;
  await p.call('POST', '/v1/feedback', { key: A.api_key, body: { user: 'alice', text: 'liked', rating: 1 } });
  await p.activeAdapter(A.app_id, 'alice', 'v1', 3);
  await p.activeAdapter(A.app_id, 'alice', 'v2', 4);
  const link = await p.call('GET', '/v1/users/alice/adapter', { key: A.api_key });
  fileLink = new URL(link.json.download.url).pathname + new URL(link.json.download.url).search;
  for (const [name, bytes] of Object.entries(tinyCheckpoint()))
    await p.store.put(`imports/fuzz/${name}`, bytes);
  const job = await p.call('POST', `/admin/apps/${A.app_id}/styles`, {
    key: ADMIN,
    body: { style: 'noir', texts: ['It was a dark night.'] },
  });
  jobId = job.json.job.id;
  spareKeyId = (await p.call('POST', `/admin/apps/${S.app_id}/keys`, { key: ADMIN })).json.key.id;
  spareHookId = (
    await p.call('POST', '/v1/webhooks', { key: A.api_key, body: { url: 'https://h.example/spare' } })
  ).json.id;
  rotatedHookId = (
    await p.call('POST', '/v1/webhooks', { key: A.api_key, body: { url: 'https://h.example/rotated' } })
  ).json.id;
  const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
    r: 1,
    alpha: 2,
    targets: ['q_proj'],
    seed: 7,
  });
  styleFiles = {
    config: Buffer.from(files.config).toString('base64'),
    model: Buffer.from(files.weights).toString('base64'),
  };
  writes = await watchWrites(p);
  await resync();
}, 60_000);
afterAll(() => p?.close());

/** Authorization headers no route should accept as they are (or that name another app or the admin). */
function hostileAuthorizations(): string[] {
  const token = (header: object, payload: object) => jwt(payload, A.signing_secret, header);
  return [
    'Bearer',
    'Bearer ',
    'bearer',
    `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    `Bearer ${'a'.repeat(16_000)}`,
    `Bearer ${'a.'.repeat(4_000)}a`,
    `Bearer ${b64({ alg: 'HS256' })}.${'A'.repeat(60_000)}.x`,
    `Bearer tlk_${'0'.repeat(55)}`,
    'Bearer ..',
    'Bearer a.b.c',
    `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'alice', exp: nowS() + 60 })}.`,
    `Bearer ${token({ alg: 'HS512' }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'RS256' }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256', kid: 'a\u0000b' }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256', kid: 'sks_\u0000' }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256', kid: '\ud800' }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256', kid: 'x'.repeat(10_000) }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256', kid: { a: 1 } }, { sub: 'alice', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: 'alice', iss: '\u0000', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: 'alice', iss: 'x'.repeat(10_000), exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: 'a\u0000', exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: ['alice'], exp: nowS() + 60 })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: 'alice', exp: 'tomorrow' })}`,
    `Bearer ${token({ alg: 'HS256' }, { sub: 'alice', exp: nowS() + 60, nbf: 'NaN', iat: {} })}`,
    `Bearer ${ADMIN}`,
    `Bearer ${ADMIN}x`,
    `Bearer ${S.api_key}`,
    `Bearer ${A.api_key} ${A.api_key}`,
  ];
}

const fast = (runs: number, salt: number) => ({ seed: SEED + salt, numRuns: runs, endOnFailure: true });

describe('fuzzing every route', () => {
  it('has a case for every route of /openapi.json, each answering its valid request', async () => {
    const doc = await send({ method: 'GET', path: '/openapi.json' });
    const ops = Object.entries(doc.json.paths as Record<string, object>).flatMap(([path, byMethod]) =>
      Object.keys(byMethod).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(
      routeCases()
        .map((c) => c.op)
        .sort(),
    ).toEqual(ops.sort());
    for (const c of routeCases()) {
      const res = await send(request(c));
      expect(res.status, `${c.op}: ${res.text.slice(0, 300)}`).toBeLessThan(300);
    }
  });

  const bodyOps = [
    'POST /v1/generate',
    'POST /v1/score',
    'POST /v1/feedback',
    'POST /v1/completions',
    'POST /v1/chat/completions',
    'PUT /v1/users/{user}/training',
    'POST /v1/webhooks',
    'POST /v1/webhooks/{id}/rotate-secret',
    'POST /admin/apps',
    'PATCH /admin/apps/{app}/settings',
    'POST /admin/apps/{app}/generate',
    'POST /admin/apps/{app}/score',
    'POST /admin/apps/{app}/styles',
    'POST /admin/training/run',
    'POST /admin/apps/{app}/signing-secrets/rotate',
    'POST /admin/adapters/promote',
    'POST /admin/adapters/rollback',
    'POST /admin/apps/{app}/styles/import',
    'PUT /admin/model-uploads/{upload}/{file}',
    'POST /admin/models',
  ];
  it('lists every route that takes a body', () => {
    expect(
      routeCases()
        .filter((c) => c.body !== undefined)
        .map((c) => c.op)
        .sort(),
    ).toEqual([...bodyOps].sort());
  });

  bodyOps.forEach((op, i) => {
    it(`${op}: valid bodies mutated (${RUNS.body} runs)`, async () => {
      await resync();
      const c = routeCases().find((x) => x.op === op) as RouteCase;
      await fc.assert(
        fc.asyncProperty(
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
          fc.constantFrom(...c.auths),
          async (ms, auth) => {
            const body = ms.reduce<unknown>((b, m) => mutate(b, m), c.body);
            const text = JSON.stringify(body) ?? 'null';
            await send(request(c, { auth, body: text }));
          },
        ),
        fast(RUNS.body, i),
      );
    });
  });

  it(`refuses a user never seen an unknown version or style, and records nothing (${RUNS.body} runs)`, async () => {
    await resync();
    const generate = routeCases().filter((c) => c.op.endsWith('/generate'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...generate),
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.oneof(
          fc.stringMatching(/^v[0-9]{1,4}$/).map((version) => ({ adapter: { version: `${version}x` } })),
          fc.stringMatching(/^[a-z]{1,8}$/).map((id) => ({ styles: [{ id: `no-${id}`, weight: 1 }] })),
        ),
        async (c, user, choice) => {
          const body = { user: `new-${user}`, prompt: 'Once', max_tokens: 1, ...choice };
          expect((await send(request(c, { auth: c.auths[0], body: JSON.stringify(body) }))).status).toBe(404);
        },
      ),
      fast(RUNS.body, 50),
    );
  });

  it(`answers random JSON, broken JSON and bytes as bodies (${RUNS.raw} runs)`, async () => {
    await resync();
    const withBody = routeCases().filter((c) => c.body !== undefined);
    const raw = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom(
        '',
        ' ',
        'null',
        '"just a string"',
        '12',
        '1e99999',
        '-0',
        '[1,2,3]',
        '{',
        '{"a":',
        '{"user":"alice","user":"bob","prompt":"x"}',
        '{"__proto__":{"admin":true},"name":"x"}',
        '{"constructor":{"prototype":{"admin":true}}}',
        '\ufeff{"name":"x"}',
        '{"name":"x"} trailing',
        '{"name":"\\u0000"}',
        '{"name":"\\ud800"}',
        '{"name":"\u0000"}',
        `${'['.repeat(20_000)}"\\u0000"${']'.repeat(20_000)}`,
        `${'{"a":'.repeat(5_000)}"\\u0000"${'}'.repeat(5_000)}`,
        `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
        `{"name":"${'x'.repeat(200_000)}"}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...withBody), raw, async (c, body) => {
        await send(request(c, { body }));
      }),
      fast(RUNS.raw, 100),
    );
    // Each valid body cut short.
    for (const c of withBody) {
      const text = JSON.stringify(c.body);
      for (const cut of [1, Math.floor(text.length / 2), text.length - 1])
        await send(request(c, { body: text.slice(0, cut) }));
    }
  });

  it(`answers hostile path segments (${RUNS.path} runs)`, async () => {
    await resync();
    const withParams = routeCases().filter((c) => c.params !== undefined);
    const extra = [
      { op: 'GET /console/assets/{file}', auths: [null], params: { file: 'index.js' } },
      { op: 'GET /docs/assets/{file}', auths: [null], params: { file: 'swagger-ui.css' } },
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...withParams, ...extra),
        fc.nat(),
        hostileSegment,
        async (c, pick, segment) => {
          const names = Object.keys(c.params ?? {});
          const name = names[pick % names.length] as string;
          await send(request(c, { rawParams: { [name]: segment } }));
        },
      ),
      fast(RUNS.path, 200),
    );
  });

  it(`answers hostile query strings (${RUNS.query} runs)`, async () => {
    await resync();
    const keys = fc.constantFrom(
      'limit',
      'cursor',
      'user',
      'q',
      'app',
      'status',
      'kind',
      'range',
      'style',
      'action',
      'expires',
      'sig',
      '',
      '__proto__',
      'limit[]',
    );
    const value = fc.oneof(
      hostileString.map(encode),
      hostileSegment,
      fc.constantFrom('0', '-1', '1e2', '1e999', 'NaN', 'Infinity', '1.5', '0x10', '%2B5', '201', '', '%00'),
    );
    const query = fc
      .array(fc.tuple(keys, value), { minLength: 1, maxLength: 4 })
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routeCases()),
        fc.oneof(
          query,
          fc.constantFrom('?', '??', '?&&', '?=', '?%ZZ', '?a=%E0%A4%A', '?limit=1&limit=2', '?limit'),
        ),
        fc.boolean(),
        async (c, q, keep) => {
          const valid = qs(c.query);
          await send(request(c, { query: keep && valid ? `${valid}&${q.slice(1)}` : q }));
        },
      ),
      fast(RUNS.query, 300),
    );
  });

  it(`answers hostile pagination cursors (${RUNS.cursor} runs)`, async () => {
    await resync();
    const lists = routeCases().filter((c) => 'limit' in (c.query ?? {}));
    const date = fc.oneof(
      fc.constantFrom(
        '-000001-01-01T00:00:00.000Z',
        '+010000-01-01T00:00:00.000Z',
        '+275760-09-13T00:00:00.000Z',
        '0000-01-01T00:00:00.000Z',
        '1970-01-01T00:00:00.000Z',
        '2020-02-30T00:00:00.000Z',
        '1',
        'now',
        '',
      ),
      fc
        .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
        .map((d) => d.toISOString()),
    );
    const id = fc.oneof(hostileString, loneSurrogates, fc.string({ unit: 'binary', maxLength: 20 }));
    const cursor = fc.oneof(
      fc.tuple(date, id).map(([d, i]) => b64(`${d}|${i}`)),
      fc.string({ unit: 'binary-ascii', maxLength: 40 }).map(encodeURIComponent),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b).toString('base64url')),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), cursor, async (c, cur) => {
        await send(request(c, { query: qs({ ...c.query, cursor: cur }) }));
      }),
      fast(RUNS.cursor, 400),
    );
  });

  it(`answers odd headers: content types, authorizations, origins (${RUNS.headers} runs)`, async () => {
    await resync();
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'APPLICATION/JSON',
        'application/json; charset=utf-8',
        'application/json;charset=latin1',
        'application/json ; x=y',
        'application/jsonx',
        'application/json-patch+json',
        'application/merge-patch+json',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
        ';',
        'application/json, text/plain',
        '*/*',
      ),
      headerText,
    );
    const authorization = fc.oneof(
      fc.constantFrom(...hostileAuthorizations()),
      headerText.map((t) => `Bearer ${t}`),
      headerText,
    );
    const origin = fc.constantFrom('null', 'https://evil.example', 'http://localhost', 'file://', '*');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routeCases()),
        fc.record(
          { 'content-type': contentType, authorization, origin, 'x-forwarded-host': headerText },
          { requiredKeys: [] },
        ),
        async (c, headers) => {
          await send(request(c, { headers }));
        },
      ),
      fast(RUNS.headers, 500),
    );
  });

  it(`answers any method on every path (${RUNS.methods} runs)`, async () => {
    await resync();
    const method = fc.constantFrom(
      'GET',
      'POST',
      'PUT',
      'PATCH',
      'DELETE',
      'OPTIONS',
      'HEAD',
      'PROPFIND',
      'FOO',
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routeCases()), method, async (c, m) => {
        await send(request(c, { method: m, headers: { origin: 'https://evil.example' } }));
      }),
      fast(RUNS.methods, 600),
    );
  });

  // The same, enumerated: every route with each hostile credential, content type and path segment.
  const segments = [
    '.',
    '..',
    '%2e',
    '%2e%2e',
    '%00',
    '%ZZ',
    'é',
    '%F0%9F%98%80',
    'x'.repeat(200),
    '%5C',
    '*',
  ];
  it('answers a fixed list of hostile requests on every route', async () => {
    await resync();
    for (const c of routeCases()) {
      const auths = c.op.includes(' /v1/') ? hostileAuthorizations() : hostileAuthorizations().slice(0, 6);
      for (const authorization of auths) await send(request(c, { auth: null, headers: { authorization } }));
      for (const auth of [
        null,
        'x'.repeat(10_000),
        `${b64({ alg: 'none' })}.${b64({ sub: 'alice', exp: nowS() + 60 })}.`,
        jwt({ sub: 'alice', exp: nowS() + 60 }, 'not-the-secret'),
        jwt({ sub: 'alice' }, A.signing_secret),
      ])
        await send(request(c, { auth }));
      if (c.body !== undefined) {
        await send(request(c, { headers: { 'content-type': 'text/plain' } }));
        await send(request(c, { body: '[]' }));
        await send(request(c, { body: JSON.stringify({ ...c.body, extra: 1 }) }));
      }
      for (const name of Object.keys(c.params ?? {}))
        for (const segment of segments) await send(request(c, { rawParams: { [name]: segment } }));
      for (const q of ['?limit=0', '?limit=-1', '?%ZZ', '?x=%00', '?cursor=%00'])
        await send(request(c, { query: q }));
    }
  });

  it(`sent at least 200 distinct hostile requests, and the platform is still up`, async () => {
    expect((await p.call('GET', '/healthz')).status).toBe(200);
    if (process.env.FUZZ_REPORT) console.info(`fuzz: ${sent.size} distinct hostile requests`);
    expect(sent.size, `${sent.size} distinct hostile requests`).toBeGreaterThanOrEqual(200);
  });
});
