// Rate limits count work, not requests (functions/http/services.ts): OpenAI's n choices of max_tokens each,
// the texts of a score request. Every /v1 route takes them, the models routes too. And browsers may send
// every method /v1 has (the CORS preflight). Each app gets its own limits through its settings.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { signUserToken } from '../auth/jwt.js';
import { SWEEPS_PER_ADDRESS_PER_MINUTE } from '../http/directory.js';

let p: TestPlatform;
let model: string;
type App = { app_id: string; api_key: string; signing_secret: string };

/** A new app whose buckets hold `perMinute` units for its key and `perUser` for each user (0: no limit). */
async function limitedApp(perMinute: number, perUser = 0): Promise<App> {
  const app = await p.newApp(`limited-${perMinute}-${perUser}`);
  const r = await p.call('PATCH', `/admin/apps/${app.app_id}/settings`, {
    key: ADMIN,
    body: { rate_limits: { per_minute: perMinute, per_user_per_minute: perUser } },
  });
  expect(r.status).toBe(200);
  return app;
}

// Every generation stops at its first space or vowel: the charge is for what is asked, not what is made.
const stop = [' ', 'e', 'a', 'o'];

beforeAll(async () => {
  p = await startPlatform();
  model = p.services.baseModelId;
}, 60_000);
afterAll(() => p.close());

describe('rate limits by units of work', () => {
  it('charges OpenAI n choices of max_tokens: n=4 × 512 tokens spends 16 units', async () => {
    const app = await limitedApp(16);
    const body = { model, prompt: 'Once', user: 'reader', n: 4, max_tokens: 512, stop };
    const big = await p.call('POST', '/v1/completions', { key: app.api_key, body });
    expect(big.status).toBe(200);
    expect(big.json.choices).toHaveLength(4);
    const next = await p.call('POST', '/v1/chat/completions', {
      key: app.api_key,
      body: { model, messages: [{ role: 'user', content: 'Hi' }], user: 'reader', max_tokens: 1 },
    });
    expect(next.status).toBe(429);
    expect(next.json.error.code).toBe('rate_limit_exceeded');
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('lets a request costing more than the whole bucket pass on a full bucket, which it empties', async () => {
    const app = await limitedApp(8);
    const body = {
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      user: 'r',
      n: 4,
      max_tokens: 512,
      stop,
    };
    expect((await p.call('POST', '/v1/chat/completions', { key: app.api_key, body })).status).toBe(200);
    const again = await p.call('POST', '/v1/chat/completions', { key: app.api_key, body });
    expect(again.status).toBe(429);
    // The wait is for the whole bucket again, never more than a minute.
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('charges /v1/generate by its max_tokens (its default: one unit)', async () => {
    const app = await limitedApp(5);
    const go = (extra: object) =>
      p.call('POST', '/v1/generate', {
        key: app.api_key,
        body: { user: 'g', prompt: 'Once', stop, ...extra },
      });
    expect((await go({ max_tokens: 512 })).status).toBe(200); // 4 units
    expect((await go({})).status).toBe(200); // 1
    expect((await go({ max_tokens: 1 })).status).toBe(429);
  });

  it('charges /v1/score a unit per text: 16 texts cost 16', async () => {
    const app = await limitedApp(16);
    const score = (n: number) =>
      p.call('POST', '/v1/score', {
        key: app.api_key,
        body: { user: 'scorer', texts: Array.from({ length: n }, (_, i) => `text ${i}`) },
      });
    expect((await score(16)).status).toBe(200);
    const next = await score(1);
    expect(next.status).toBe(429);
    expect(next.json.error.message).toMatch(/rate limit per API key/);
  });

  it("charges the user's bucket the same units, and gives them back when the key refuses", async () => {
    const app = await limitedApp(20, 16);
    const score = (user: string, n: number) =>
      p.call('POST', '/v1/score', {
        key: app.api_key,
        body: { user, texts: Array.from({ length: n }, (_, i) => `text ${i}`) },
      });
    expect((await score('a', 16)).status).toBe(200); // a: 0 left; the key: 4
    expect((await score('a', 1)).json.error.message).toMatch(/rate limit per user/);
    expect((await score('b', 8)).json.error.message).toMatch(/rate limit per API key/); // b refunded 8
    expect((await score('b', 4)).status).toBe(200);
  });
});

describe('the models routes take the rate limits', () => {
  for (const path of ['/v1/models', `/v1/models/brown-4m`, '/v1/models/brown-4m/files']) {
    it(`GET ${path}: 429 with Retry-After once the key's bucket is empty`, async () => {
      const app = await limitedApp(2);
      expect((await p.call('GET', path, { key: app.api_key })).status).toBe(200);
      expect((await p.call('GET', path, { key: app.api_key })).status).toBe(200);
      const refused = await p.call('GET', path, { key: app.api_key });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  }

  it("takes a user token's user bucket as well", async () => {
    const app = await limitedApp(100, 1);
    const token = await signUserToken(
      { sub: 'device', exp: Math.floor(Date.now() / 1000) + 60 },
      app.signing_secret,
      app.app_id,
    );
    expect((await p.call('GET', '/v1/models', { key: token })).status).toBe(200);
    const refused = await p.call('GET', '/v1/models/brown-4m/files', { key: token });
    expect(refused.status).toBe(429);
    expect(refused.json.error.message).toMatch(/rate limit per user/);
    expect((await p.call('GET', '/v1/models', { key: app.api_key })).status).toBe(200); // the key has units
  });

  it('answers GET /v1/models/{model} in OpenAI’s shape, 404 for a model the app does not have', async () => {
    const app = await p.newApp('models');
    const base = await p.call('GET', `/v1/models/${model}`, { key: app.api_key });
    expect(base.json).toMatchObject({ id: model, object: 'model', owned_by: 'tailor' });
    const missing = await p.call('GET', `/v1/models/${model}:nope`, { key: app.api_key });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });
});

describe('CORS preflight', () => {
  it('allows every method /v1 has, PUT (a user’s training switch) included', async () => {
    const page = 'https://reader.example';
    const app = await p.newApp('cors');
    await p.call('PATCH', `/admin/apps/${app.app_id}/settings`, {
      key: ADMIN,
      body: { cors: { allowed_origins: [page] } },
    });
    const preflight = await p.app.request('http://localhost/v1/users/reader/training', {
      method: 'OPTIONS',
      headers: { origin: page, 'access-control-request-method': 'PUT' },
    });
    expect(preflight.status).toBe(204);
    const allowed = (preflight.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
    expect(allowed).toContain('PUT');
    const doc = (await p.call('GET', '/openapi.json')).json as { paths: Record<string, object> };
    const used = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([, ops]) => Object.keys(ops).map((m) => m.toUpperCase()));
    for (const method of new Set(used)) expect(allowed, method).toContain(method);
  });
});

describe('user tokens that name no app', () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  /** A token with no kid and no iss, as the API's contract allows: signed with `secret`. */
  const kidless = (sub: string, secret: string) => {
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 300 })}`;
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  };
  const generate = (key: string) =>
    p.call('POST', '/v1/generate', { key, body: { prompt: 'Once', max_tokens: 1 } });

  it("are tried against every app's secrets at most 30 times a minute per address; one that verified is remembered", async () => {
    const app = await p.newApp('kidless');
    const good = kidless('reader-1', app.signing_secret);
    for (let i = 0; i < 40; i++) expect((await generate(good)).status).toBe(200); // one sweep, then remembered
    const forged = await Promise.all(
      Array.from({ length: 35 }, (_, i) => generate(kidless(`r${i}`, 'wrong'))),
    );
    const statuses = forged.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(SWEEPS_PER_ADDRESS_PER_MINUTE);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(
      35 - SWEEPS_PER_ADDRESS_PER_MINUTE,
    );
    const refused = forged.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused?.json.error.message).toMatch(/kid/);
    // The remembered token, and any token naming its app, still pass.
    expect((await generate(good)).status).toBe(200);
    const named = await signUserToken(
      { sub: 'reader-2', exp: Math.floor(Date.now() / 1000) + 60 },
      app.signing_secret,
      app.app_id,
    );
    expect((await generate(named)).status).toBe(200);
  });
});
