// Tenant isolation, route by route: two apps A and B, users u1 and u2 of A; A's u1 has a generation, feedback
// (under an idempotency key), an active adapter with a download link, and A has a style. For every route that
// reads or writes a tenant's data: B's key (and B's user tokens) is refused or sees nothing of A, u2's token
// acting on u1 is refused (403, or 401 for a token that names the wrong app), and nothing of A changes (every
// row and file of A's compared before and after; after a refusal, nothing at all). Every admin route refuses
// every app credential. The list comes from the app itself (/openapi.json and the router): a route that is in
// neither the matrix nor the lists of routes that hold no tenant's data fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAdapter } from '../../engine/testing.js';
import { fingerprint, jwt, nowS, userToken } from '../../test/support/hostile.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

type App = { app_id: string; api_key: string; signing_secret: string };
type Res = Awaited<ReturnType<TestPlatform['call']>>;

let p: TestPlatform;
let A: App;
let B: App;
const u1 = 'u1-of-a';
const u2 = 'u2-of-a';
const MARKER = 'MARKER-only-u1-of-a-wrote-this';
let g1: string;
let f1: string;
/** A's download link of u1's weights (path and query), and B's of its own user's. */
let linkA: string;
let linkB: string;
/** A's webhook endpoint. */
let hookA: string;

/** What no answer to B, or to u2 about u1, may hold. */
const secretsOfU1 = () => [MARKER, g1, f1, new URL(linkA, 'http://x').searchParams.get('sig') as string];
const secretsOfA = () => [...secretsOfU1(), A.app_id, A.api_key, A.signing_secret];

interface Case {
  name: string;
  send: () => Promise<Res>;
  statuses: number[];
  /** What the answer must not contain (default: everything of A's). */
  secrets?: () => string[];
  check?: (res: Res) => void | Promise<void>;
}

const asKey = (key: string, method: string, path: string, body?: unknown) =>
  p.call(method, path, { key, ...(body !== undefined ? { body } : {}) });
const tokU1 = () => userToken(u1, A);
const tokU2 = () => userToken(u2, A);
/** B's own user who happens to be called u1 too. */
const tokBu1 = () => userToken(u1, B);
/** Tokens that claim one app and are signed with the other's secret. */
const crossTokens = () => [
  jwt({ sub: u1, exp: nowS() + 60 }, A.signing_secret, { alg: 'HS256', kid: B.app_id }),
  jwt({ sub: u1, exp: nowS() + 60 }, B.signing_secret, { alg: 'HS256', kid: A.app_id }),
  jwt({ sub: u1, exp: nowS() + 60, iss: A.app_id }, B.signing_secret),
];

/** Cases of a /v1 route that acts on a user: B (key, B's user token) and u2 on u1, and the cross tokens. */
function onUser(method: string, path: (user: string) => string, body?: (user: string) => unknown): Case[] {
  const b = (user: string) => (body ? body(user) : undefined);
  return [
    {
      name: "u2's token on u1",
      send: () => asKey(tokU2(), method, path(u1), b(u1)),
      statuses: [403],
      secrets: secretsOfU1,
    },
    ...crossTokens().map((t, i) => ({
      name: `a token naming one app signed by the other (${i + 1})`,
      send: () => asKey(t, method, path(u1), b(u1)),
      statuses: [401],
    })),
  ];
}

function matrix(): Record<string, Case[]> {
  const gen = (extra: object = {}) => ({ user: u1, prompt: 'Once', max_tokens: 1, ...extra });
  const scoreBody = (extra: object = {}) => ({ user: u1, texts: ['a tale'], ...extra });
  const noAdapterOfA = (res: Res) => {
    expect(res.json.adapter).toBeNull();
    expect(res.json.styles).toBeUndefined();
  };
  /** The OpenAI-compatible generation routes: B as u1, B naming A's version or A's style as a model, u2 on u1. */
  const openAi = (path: string, input: object): Case[] => {
    const model = p.services.baseModelId;
    const oa = (extra: object = {}) => ({ model, max_tokens: 1, ...input, ...extra });
    return [
      { name: 'B as u1', send: () => asKey(B.api_key, 'POST', path, oa({ user: u1 })), statuses: [200] },
      { name: "B's user token of u1", send: () => asKey(tokBu1(), 'POST', path, oa()), statuses: [200] },
      {
        name: "B naming A's version",
        send: () => asKey(B.api_key, 'POST', path, oa({ user: u1, adapter: { version: 'v1' } })),
        statuses: [404],
      },
      {
        name: "B naming A's style as a model",
        send: () => asKey(B.api_key, 'POST', path, oa({ user: u1, model: `${model}:noir-a` })),
        statuses: [404],
      },
      {
        name: 'u2 naming u1',
        send: () => asKey(tokU2(), 'POST', path, oa({ user: u1 })),
        statuses: [403],
        secrets: secretsOfU1,
      },
      ...onUser(
        'POST',
        () => path,
        () => oa(),
      ).slice(1),
    ];
  };
  const [filePath, fileQuery] = linkA.split('?') as [string, string];
  const [bPath, bQuery] = linkB.split('?') as [string, string];
  const aKey = filePath.slice('/v1/files/'.length);
  return {
    'POST /v1/generate': [
      {
        name: 'B as u1',
        send: () => asKey(B.api_key, 'POST', '/v1/generate', gen()),
        statuses: [200],
        check: noAdapterOfA,
      },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'POST', '/v1/generate', { prompt: 'Once', max_tokens: 1 }),
        statuses: [200],
        check: noAdapterOfA,
      },
      {
        name: "B naming A's version",
        send: () => asKey(B.api_key, 'POST', '/v1/generate', gen({ adapter: { version: 'v1' } })),
        statuses: [404],
      },
      {
        name: "B naming A's style",
        send: () => asKey(B.api_key, 'POST', '/v1/generate', gen({ styles: [{ id: 'noir-a', weight: 1 }] })),
        statuses: [404],
      },
      {
        name: 'u2 naming u1',
        send: () => asKey(tokU2(), 'POST', '/v1/generate', gen()),
        statuses: [403],
        secrets: secretsOfU1,
      },
      {
        name: "u2 naming u1's version",
        send: () =>
          asKey(tokU2(), 'POST', '/v1/generate', { prompt: 'x', max_tokens: 1, adapter: { version: 'v1' } }),
        statuses: [404],
        secrets: secretsOfU1,
      },
      ...onUser(
        'POST',
        () => '/v1/generate',
        () => ({ prompt: 'x', max_tokens: 1 }),
      ).slice(1),
    ],
    'POST /v1/score': [
      {
        name: 'B as u1',
        send: () => asKey(B.api_key, 'POST', '/v1/score', scoreBody()),
        statuses: [200],
        check: noAdapterOfA,
      },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'POST', '/v1/score', { texts: ['a tale'] }),
        statuses: [200],
        check: noAdapterOfA,
      },
      {
        name: "B naming A's version",
        send: () => asKey(B.api_key, 'POST', '/v1/score', scoreBody({ adapter: { version: 'v1' } })),
        statuses: [404],
      },
      {
        name: "B naming A's style",
        send: () =>
          asKey(B.api_key, 'POST', '/v1/score', scoreBody({ styles: [{ id: 'noir-a', weight: 1 }] })),
        statuses: [404],
      },
      {
        name: 'u2 naming u1',
        send: () => asKey(tokU2(), 'POST', '/v1/score', scoreBody()),
        statuses: [403],
        secrets: secretsOfU1,
      },
      ...onUser(
        'POST',
        () => '/v1/score',
        () => ({ texts: ['a tale'] }),
      ).slice(1),
    ],
    'POST /v1/feedback': [
      {
        name: "B on A's generation",
        send: () => asKey(B.api_key, 'POST', '/v1/feedback', { user: u1, generation_id: g1, rating: 1 }),
        statuses: [404],
        secrets: () => secretsOfA().filter((x) => x !== g1),
      },
      {
        name: "B's user token on A's generation",
        send: () => asKey(tokBu1(), 'POST', '/v1/feedback', { generation_id: g1, rating: -1 }),
        statuses: [404],
        secrets: () => secretsOfA().filter((x) => x !== g1),
      },
      {
        name: "B with A's idempotency key: its own feedback, not A's",
        send: () =>
          asKey(B.api_key, 'POST', '/v1/feedback', {
            user: u1,
            text: MARKER,
            rating: 1,
            idempotency_key: 'idem-u1',
          }),
        statuses: [201],
        secrets: () => secretsOfA().filter((x) => x !== MARKER),
        check: (res) => expect(res.json.id).not.toBe(f1),
      },
      {
        name: 'u2 naming u1',
        send: () => asKey(tokU2(), 'POST', '/v1/feedback', { user: u1, text: 'x', rating: 1 }),
        statuses: [403],
        secrets: secretsOfU1,
      },
      {
        name: "u2 on u1's generation",
        send: () => asKey(tokU2(), 'POST', '/v1/feedback', { generation_id: g1, rating: 1 }),
        statuses: [404],
        secrets: () => secretsOfU1().filter((s) => s !== g1),
      },
      ...onUser(
        'POST',
        () => '/v1/feedback',
        () => ({ text: 'x', rating: 1 }),
      ).slice(1),
    ],
    'POST /v1/completions': openAi('/v1/completions', { prompt: 'Once' }),
    'POST /v1/chat/completions': openAi('/v1/chat/completions', {
      messages: [{ role: 'user', content: 'Hi' }],
    }),
    'GET /v1/models': [
      {
        name: "B's key: B's models only",
        send: () => asKey(B.api_key, 'GET', '/v1/models'),
        statuses: [200],
        check: (res) => expect(JSON.stringify(res.json)).not.toContain('noir-a'),
      },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'GET', '/v1/models'),
        statuses: [200],
        check: (res) => expect(JSON.stringify(res.json)).not.toContain('noir-a'),
      },
      ...onUser('GET', () => '/v1/models').slice(1),
    ],
    'GET /v1/models/{model}': [
      {
        name: "B's key on A's style as a model",
        send: () => asKey(B.api_key, 'GET', '/v1/models/brown-4m:noir-a'),
        statuses: [404],
      },
      {
        name: "B's user token of u1 on A's style as a model",
        send: () => asKey(tokBu1(), 'GET', '/v1/models/brown-4m:noir-a'),
        statuses: [404],
      },
      {
        name: "B's key on the shared base model",
        send: () => asKey(B.api_key, 'GET', '/v1/models/brown-4m'),
        statuses: [200],
        check: (res) => expect(res.json.owned_by).toBe('tailor'),
      },
      ...onUser('GET', () => '/v1/models/brown-4m:noir-a').slice(1),
    ],
    // The base model is shared: anyone with a credential gets the same package, and nothing of A's.
    'GET /v1/models/{model}/files': [
      {
        name: "B's key",
        send: () => asKey(B.api_key, 'GET', '/v1/models/brown-4m/files'),
        statuses: [200],
        check: (res) => expect(res.json.files.length).toBe(4),
      },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'GET', '/v1/models/brown-4m/files'),
        statuses: [200],
      },
      ...onUser('GET', () => '/v1/models/brown-4m/files').slice(1),
    ],
    'GET /v1/users/{user}/adapter': [
      { name: 'B on u1', send: () => asKey(B.api_key, 'GET', `/v1/users/${u1}/adapter`), statuses: [404] },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'GET', `/v1/users/${u1}/adapter`),
        statuses: [404],
      },
      ...onUser('GET', (u) => `/v1/users/${u}/adapter`),
    ],
    'GET /v1/users/{user}/export': [
      {
        // B's own u1 sent MARKER too (in the idempotency case above): that is B's, A's ids are not.
        name: 'B on u1: only what B stored',
        send: () => asKey(B.api_key, 'GET', `/v1/users/${u1}/export`),
        statuses: [200],
        secrets: () => secretsOfA().filter((x) => x !== MARKER),
        check: (res) => {
          expect(res.json.app_id).toBe(B.app_id);
          expect(res.json.adapters).toEqual([]);
          expect(res.json.feedback.length).toBeGreaterThan(0);
        },
      },
      {
        name: "B's user token of u1",
        send: () => asKey(tokBu1(), 'GET', `/v1/users/${u1}/export`),
        statuses: [200],
        secrets: () => secretsOfA().filter((x) => x !== MARKER),
        check: (res) => expect(res.json.app_id).toBe(B.app_id),
      },
      ...onUser('GET', (u) => `/v1/users/${u}/export`),
    ],
    'PUT /v1/users/{user}/training': [
      {
        name: 'B opts its u1 out, not A’s',
        send: () => asKey(B.api_key, 'PUT', `/v1/users/${u1}/training`, { enabled: false }),
        statuses: [200],
        check: (res) => expect(res.json.retired_version).toBeNull(),
      },
      ...onUser(
        'PUT',
        (u) => `/v1/users/${u}/training`,
        () => ({ enabled: false }),
      ),
    ],
    'DELETE /v1/users/{user}': [
      {
        name: 'B erases its u1, not A’s',
        send: () => asKey(B.api_key, 'DELETE', `/v1/users/${u1}`),
        statuses: [204],
      },
      {
        name: "B's user token of u1 erases B's",
        send: () => asKey(tokBu1(), 'DELETE', `/v1/users/${u1}`),
        statuses: [204],
      },
      ...onUser('DELETE', (u) => `/v1/users/${u}`),
    ],
    'POST /v1/webhooks': [
      {
        name: 'B registers its own endpoint, not A’s',
        send: () => asKey(B.api_key, 'POST', '/v1/webhooks', { url: 'https://b.example/hook' }),
        statuses: [201],
      },
      {
        name: "A's user token may not register one",
        send: () => asKey(tokU1(), 'POST', '/v1/webhooks', { url: 'https://u1.example/hook' }),
        statuses: [403],
      },
      {
        name: "B's user token may not register one",
        send: () => asKey(tokBu1(), 'POST', '/v1/webhooks', { url: 'https://u1.example/hook' }),
        statuses: [403],
      },
      ...onUser(
        'POST',
        () => '/v1/webhooks',
        () => ({ url: 'https://x.example/hook' }),
      ).slice(1),
    ],
    'GET /v1/webhooks': [
      {
        name: "B sees none of A's endpoints",
        send: () => asKey(B.api_key, 'GET', '/v1/webhooks'),
        statuses: [200],
        secrets: () => [...secretsOfA(), hookA],
        check: (res) =>
          expect(res.json.items.every((e: { url: string }) => e.url.startsWith('https://b.'))).toBe(true),
      },
      { name: "u2's token", send: () => asKey(tokU2(), 'GET', '/v1/webhooks'), statuses: [403] },
      ...onUser('GET', () => '/v1/webhooks').slice(1),
    ],
    'DELETE /v1/webhooks/{id}': [
      {
        name: "B deleting A's endpoint",
        send: () => asKey(B.api_key, 'DELETE', `/v1/webhooks/${hookA}`),
        statuses: [404],
      },
      {
        name: "A's user token deleting A's endpoint",
        send: () => asKey(tokU1(), 'DELETE', `/v1/webhooks/${hookA}`),
        statuses: [403],
      },
      ...onUser('DELETE', () => `/v1/webhooks/${hookA}`).slice(1),
    ],
    'POST /v1/webhooks/{id}/rotate-secret': [
      {
        name: "B rotating A's endpoint's secret",
        send: () => asKey(B.api_key, 'POST', `/v1/webhooks/${hookA}/rotate-secret`, { overlap_s: 0 }),
        statuses: [404],
      },
      {
        name: "A's user token rotating A's endpoint's secret",
        send: () => asKey(tokU1(), 'POST', `/v1/webhooks/${hookA}/rotate-secret`, { overlap_s: 0 }),
        statuses: [403],
      },
      ...onUser(
        'POST',
        () => `/v1/webhooks/${hookA}/rotate-secret`,
        () => ({ overlap_s: 0 }),
      ).slice(1),
    ],
    'GET /v1/files/{key}': [
      {
        name: "B's link with A's file in its path",
        send: () => p.call('GET', `${'/v1/files/'}${aKey}?${bQuery}`, { key: B.api_key }),
        statuses: [403],
      },
      {
        name: "A's link's signature on another file of A",
        send: () =>
          p.call(
            'GET',
            `${filePath.replace(/adapter_model\.safetensors$/, 'adapter_config.json')}?${fileQuery}`,
          ),
        statuses: [403],
      },
      {
        name: "A's link, its expiry moved",
        send: () => {
          const q = new URLSearchParams(fileQuery);
          q.set('expires', String(Number(q.get('expires')) + 3600));
          return p.call('GET', `${filePath}?${q}`);
        },
        statuses: [403],
      },
      {
        name: "B's link is B's file only",
        send: () => p.call('GET', `${bPath}?${bQuery}`),
        statuses: [200],
        check: (res) => {
          const key = decodeURIComponent(bPath.slice('/v1/files/'.length));
          expect(key.startsWith(`adapters/${B.app_id}/`)).toBe(true);
          expect(res.headers.get('content-type')).toBe('application/octet-stream');
        },
      },
    ],
  };
}

/** Routes that hold no tenant's data, answered alike to anyone: nothing of A's in them. */
const PUBLIC = ['GET /healthz', 'GET /metrics', 'GET /openapi.json', 'GET /docs'];
/** Served by the router without an OpenAPI entry: static files (the console, the reference's assets). */
const UNDOCUMENTED = [
  'GET /console',
  'GET /console/{*}',
  'GET /docs/assets/{*}',
  'GET /example',
  'GET /example/{*}',
];
/** The router's spelling of documented routes. */
const ALIASES: Record<string, string> = { 'GET /v1/files/{*}': 'GET /v1/files/{key}' };

let ops: { op: string; security: string[] }[];

beforeAll(async () => {
  p = await startPlatform({ MAX_PROMPT_TOKENS: '32' });
  A = await p.newApp('tenant-a');
  B = await p.newApp('tenant-b');
  const g = await p.call('POST', '/v1/generate', {
    key: A.api_key,
    body: { user: u1, prompt: 'Once', max_tokens: 2 },
  });
  g1 = g.json.id;
  const f = await p.call('POST', '/v1/feedback', {
    key: A.api_key,
    body: { user: u1, text: MARKER, rating: 1, idempotency_key: 'idem-u1' },
  });
  f1 = f.json.id;
  await p.call('POST', '/v1/feedback', { key: A.api_key, body: { user: u2, text: 'u2 liked', rating: 1 } });
  await p.activeAdapter(A.app_id, u1, 'v1', 11);
  const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
    r: 1,
    alpha: 2,
    targets: ['q_proj'],
    seed: 12,
  });
  const imported = await p.call('POST', `/admin/apps/${A.app_id}/styles/import`, {
    key: ADMIN,
    body: {
      style: 'noir-a',
      adapter_config: Buffer.from(files.config).toString('base64'),
      adapter_model: Buffer.from(files.weights).toString('base64'),
    },
  });
  expect(imported.status).toBe(201);
  const link = async (app: App, user: string) => {
    const url = new URL(
      (await p.call('GET', `/v1/users/${user}/adapter`, { key: app.api_key })).json.download.url,
    );
    return url.pathname + url.search;
  };
  linkA = await link(A, u1);
  hookA = (await p.call('POST', '/v1/webhooks', { key: A.api_key, body: { url: 'https://a.example/hook' } }))
    .json.id;
  await p.activeAdapter(B.app_id, 'b-user', 'v1', 13);
  linkB = await link(B, 'b-user');
  const doc = (await p.call('GET', '/openapi.json')).json;
  ops = Object.entries(
    doc.paths as Record<string, Record<string, { security?: Record<string, unknown>[] }>>,
  ).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([m, op]) => ({
      op: `${m.toUpperCase()} ${path}`,
      security: (op.security ?? []).flatMap((s) => Object.keys(s)),
    })),
  );
}, 60_000);
afterAll(() => p?.close());

async function run(c: Case): Promise<void> {
  const before = await fingerprint(p);
  const beforeA = await fingerprint(p, { appId: A.app_id });
  const res = await c.send();
  const where = `${c.name}: ${res.status} ${res.text.slice(0, 300)}`;
  expect(c.statuses, where).toContain(res.status);
  for (const secret of (c.secrets ?? secretsOfA)()) expect(res.text, where).not.toContain(secret);
  await c.check?.(res);
  if (res.status >= 300) expect(await fingerprint(p), `${where}: wrote on a refusal`).toEqual(before);
  expect(await fingerprint(p, { appId: A.app_id }), `${where}: changed A's data`).toEqual(beforeA);
}

describe('tenant isolation', () => {
  it('covers every route the app serves: in the matrix, admin-only or holding no tenant data', () => {
    const m = matrix();
    for (const { op, security } of ops) {
      if (op in m || security.includes('adminToken')) continue; // admin routes: the sweep below
      expect(security, `${op} acts for an app and has no isolation case`).not.toContain('appKey');
      expect(PUBLIC, `${op} is neither in the matrix nor listed as public`).toContain(op);
    }
    expect(Object.keys(m).filter((op) => !ops.some((o) => o.op === op))).toEqual([]);
    const documented = new Set(ops.map((o) => o.op));
    const served = p.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}')}`);
    for (const op of new Set(served)) {
      const known = documented.has(ALIASES[op] ?? op) || UNDOCUMENTED.includes(op);
      expect(known, `${op} is served but not in /openapi.json nor listed`).toBe(true);
    }
  });

  it("gives A's own credentials A's data (the matrix tests something)", async () => {
    const gen = await p.call('POST', '/v1/generate', {
      key: tokU1(),
      body: { prompt: 'Once', max_tokens: 1, styles: [{ id: 'noir-a', weight: 1 }] },
    });
    expect(gen.json.adapter).toEqual({ version: 'v1' });
    expect(gen.json.styles).toEqual([{ id: 'noir-a', version: expect.any(String), weight: 1 }]);
    const exported = await p.call('GET', `/v1/users/${u1}/export`, { key: A.api_key });
    expect(JSON.stringify(exported.json)).toContain(MARKER);
    expect((await p.call('GET', linkA)).status).toBe(200);
  });

  for (const op of [
    'POST /v1/generate',
    'POST /v1/score',
    'POST /v1/feedback',
    'POST /v1/completions',
    'POST /v1/chat/completions',
    'GET /v1/models',
    'GET /v1/models/{model}',
    'GET /v1/models/{model}/files',
    'GET /v1/users/{user}/adapter',
    'GET /v1/users/{user}/export',
    'PUT /v1/users/{user}/training',
    'DELETE /v1/users/{user}',
    'POST /v1/webhooks',
    'GET /v1/webhooks',
    'DELETE /v1/webhooks/{id}',
    'POST /v1/webhooks/{id}/rotate-secret',
    'GET /v1/files/{key}',
  ]) {
    describe(op, () => {
      it('keeps A to itself', async () => {
        const cases = matrix()[op] as Case[];
        expect(cases.length).toBeGreaterThan(0);
        for (const c of cases) await run(c);
      });
    });
  }

  it("still holds all of A's after the matrix: u1's adapter active, export whole, link valid", async () => {
    expect((await p.call('GET', `/v1/users/${u1}/adapter`, { key: A.api_key })).json.version).toBe('v1');
    const exported = (await p.call('GET', `/v1/users/${u1}/export`, { key: A.api_key })).json;
    expect(exported.profile.training_opted_out_at).toBeNull();
    expect(exported.generations.map((g: { id: string }) => g.id)).toContain(g1);
    expect(exported.feedback.map((f: { id: string }) => f.id)).toEqual([f1]);
    expect((await p.call('GET', linkA)).status).toBe(200);
  });

  it('refuses every app credential on every admin route, writing nothing', async () => {
    const admin = ops.filter((o) => o.security.includes('adminToken'));
    expect(admin.length).toBeGreaterThan(20);
    const fillParams = (path: string) =>
      path
        .replace('{app}', A.app_id)
        .replace('{user}', u1)
        .replace('{id}', 'job_x')
        .replace('{key}', 'key_x');
    for (const { op } of admin) {
      const [method, path] = op.split(' ') as [string, string];
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { app: A.app_id, user: u1 } : undefined;
      for (const [who, key] of [
        ["A's key", A.api_key],
        ["B's key", B.api_key],
        ["u1's token", tokU1()],
        ["B's user token", tokBu1()],
      ] as const) {
        await run({
          name: `${who} on ${op}`,
          send: () => asKey(key, method, fillParams(path), body),
          statuses: [401, 403],
        });
      }
    }
  });

  it('answers the routes that hold no tenant data with nothing of A', async () => {
    for (const op of [...PUBLIC, 'GET /console', 'GET /console/{*}', 'GET /docs/assets/{*}']) {
      const path = (op.split(' ')[1] as string).replace('{*}', 'index.html');
      await run({ name: op, send: () => p.call('GET', path, { key: B.api_key }), statuses: [200, 301, 404] });
    }
  });
});
