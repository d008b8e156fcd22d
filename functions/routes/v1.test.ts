// API v1 through app.request(): generation (JSON and SSE), user tokens, feedback idempotency, scoring,
// adapters (applied, and the base-model fallback), the user's adapter download, erasure.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineUnavailableError, Generation } from '../../engine/index.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { parseSse } from '../../test/support/sse.js';
import { signUserToken } from '../auth/jwt.js';
import { parseServerTiming } from '../http/server-timing.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string; signing_secret: string };
const token = (sub: string, secs = 300) =>
  signUserToken({ sub, exp: Math.floor(Date.now() / 1000) + secs }, app.signing_secret, app.app_id);

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('stories');
}, 60_000);
afterAll(() => p.close());

describe('POST /v1/generate', () => {
  it('generates for a user, deterministically with a seed, and records the generation', async () => {
    const body = { user: 'reader-1', prompt: 'The night was', max_tokens: 12, seed: 7 };
    const a = await p.call('POST', '/v1/generate', { key: app.api_key, body });
    const b = await p.call('POST', '/v1/generate', { key: app.api_key, body });
    expect(a.status).toBe(200);
    const promptTokens = p.engine.model(p.services.baseModelId).tokenizer.encode(body.prompt).length; // BOS is not counted
    expect(a.json).toMatchObject({ adapter: null, seed: 7, usage: { prompt_tokens: promptTokens } });
    expect(a.json.usage.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(a.json.usage.completion_tokens).toBeLessThanOrEqual(12);
    expect(['length', 'eos', 'stop']).toContain(a.json.finish_reason);
    expect(b.json.text).toBe(a.json.text);
    expect(b.json.id).not.toBe(a.json.id);
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/generations?user=reader-1`, { key: ADMIN });
    expect(listed.json.items.map((g: { id: string }) => g.id)).toEqual(
      expect.arrayContaining([a.json.id, b.json.id]),
    );
  });

  it('says where the time went in a Server-Timing header, stage by stage', async () => {
    const r = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'reader-1', prompt: 'The night was', max_tokens: 4, seed: 7 },
    });
    const stages = parseServerTiming(r.headers.get('server-timing'));
    // In the order they ran (resolve and memory run side by side: either may end first).
    expect(Object.keys(stages).sort()).toEqual(
      [
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
        'total',
      ].sort(),
    );
    for (const ms of Object.values(stages)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(stages.prefill).toBeCloseTo(r.json.timings_ms.first_token, 0);
  });

  it('streams Server-Sent Events: token pieces, then done with the same text', async () => {
    const res = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'reader-1', prompt: 'She said', max_tokens: 10, seed: 3, stream: true },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(res.text);
    const done = events.at(-1);
    expect(done?.event).toBe('done');
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text);
    expect(tokens.join('')).toBe(done?.data.text);
    const json = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'reader-1', prompt: 'She said', max_tokens: 10, seed: 3 },
    });
    expect(json.json.text).toBe(done?.data.text);
  });

  it('acts for the user of a user token, and only for that user', async () => {
    const t = await token('reader-2');
    const ok = await p.call('POST', '/v1/generate', { key: t, body: { prompt: 'Once', max_tokens: 3 } });
    expect(ok.status).toBe(200);
    const other = await p.call('POST', '/v1/generate', {
      key: t,
      body: { user: 'reader-1', prompt: 'x', max_tokens: 2 },
    });
    expect(other.status).toBe(403);
    expect(other.json.error.message).toMatch(/reader-2 only/);
  });

  it('applies the active adapter, and serves the base model with a reason when it cannot be loaded', async () => {
    const body = { user: 'fan', prompt: 'The detective', max_tokens: 8, temperature: 0 };
    const base = await p.call('POST', '/v1/generate', { key: app.api_key, body });
    await p.activeAdapter(app.app_id, 'fan', 'v1', 11);
    const tuned = await p.call('POST', '/v1/generate', { key: app.api_key, body });
    expect(tuned.json.adapter).toEqual({ version: 'v1' });
    const none = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { ...body, adapter: 'none' },
    });
    expect(none.json.adapter).toBeNull();
    expect(none.json.text).toBe(base.json.text);
    const scores = await p.call('POST', '/v1/score', {
      key: app.api_key,
      body: { user: 'fan', texts: ['The detective smiled.'] },
    });
    const baseScores = await p.call('POST', '/v1/score', {
      key: app.api_key,
      body: { user: 'fan', texts: ['The detective smiled.'], adapter: 'none' },
    });
    expect(scores.json.adapter).toEqual({ version: 'v1' });
    expect(scores.json.results[0].nll).not.toBeCloseTo(baseScores.json.results[0].nll, 3);

    // A version whose files are corrupt: the request still succeeds, on the base model, and says why.
    const prefix = await p.activeAdapter(app.app_id, 'unlucky', 'v1', 12);
    await p.store.put(`${prefix}adapter_model.safetensors`, new Uint8Array([1, 2, 3]));
    const fallback = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { ...body, user: 'unlucky' },
    });
    expect(fallback.status).toBe(200);
    expect(fallback.json.adapter).toBeNull();
    expect(fallback.json.adapter_fallback.reason).toMatch(/AdapterError|safetensors/);
    expect(fallback.json.text).toBe(base.json.text);
    const metrics = await p.call('GET', '/metrics');
    expect(metrics.text).toMatch(/tailor_adapter_fallbacks_total\{reason="AdapterError"\} 1/);
  });

  it('answers 503 with Retry-After, or an error event on a stream, when no engine can take the request', async () => {
    const engine = p.services.engine;
    const generate = engine.generate.bind(engine);
    engine.generate = () =>
      new Generation(async () => {
        throw new EngineUnavailableError('an inference thread stopped (exit code 1); retry');
      });
    try {
      const body = { user: 'reader-1', prompt: 'x', max_tokens: 4 };
      const json = await p.call('POST', '/v1/generate', { key: app.api_key, body });
      expect(json.status).toBe(503);
      expect(json.headers.get('retry-after')).toBe('1');
      expect(json.json.error.code).toBe('unavailable');
      const sse = await p.call('POST', '/v1/generate', { key: app.api_key, body: { ...body, stream: true } });
      const last = parseSse(sse.text).at(-1);
      expect(last?.event).toBe('error');
      expect(last?.data.error).toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/retry/),
      });
    } finally {
      engine.generate = generate;
    }
  });

  it('answers 429 with Retry-After past the per-user rate limit', async () => {
    const limited = await startPlatform({ RATE_LIMIT_PER_USER_PER_MINUTE: '2' });
    try {
      const a = await limited.newApp();
      const go = () =>
        limited.call('POST', '/v1/feedback', { key: a.api_key, body: { user: 'u', text: 't', rating: 1 } });
      expect((await go()).status).toBe(201);
      expect((await go()).status).toBe(201);
      const third = await go();
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(third.json.error.message).toMatch(/rate limit per user/);
    } finally {
      await limited.close();
    }
  }, 60_000);
});

describe('POST /v1/feedback', () => {
  it('stores feedback once per idempotency key, with the generation text', async () => {
    const g = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'fb-user', prompt: 'It was', max_tokens: 5 },
    });
    const fb = { user: 'fb-user', generation_id: g.json.id, rating: 1, idempotency_key: 'k-1' };
    const first = await p.call('POST', '/v1/feedback', { key: app.api_key, body: fb });
    const again = await p.call('POST', '/v1/feedback', { key: app.api_key, body: fb });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/feedback?user=fb-user`, { key: ADMIN });
    expect(listed.json.items).toHaveLength(1);
    expect(listed.json.items[0]).toMatchObject({ text: g.json.text, prompt: 'It was', rating: 1 });
  });

  it('refuses a generation id of another user or another app', async () => {
    const g = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'owner', prompt: 'It was', max_tokens: 2 },
    });
    const otherUser = await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'thief', generation_id: g.json.id, rating: 1 },
    });
    expect(otherUser.status).toBe(404);
    const other = await p.newApp('other');
    const otherApp = await p.call('POST', '/v1/feedback', {
      key: other.api_key,
      body: { user: 'owner', generation_id: g.json.id, rating: 1 },
    });
    expect(otherApp.status).toBe(404);
  });

  it("keeps each user's idempotency keys their own: another user of the app uses the same key freely", async () => {
    const send = (user: string) =>
      p.call('POST', '/v1/feedback', {
        key: app.api_key,
        body: { user, text: 't', rating: 1, idempotency_key: 'shared' },
      });
    const a = await send('a');
    expect(a.status).toBe(201);
    const b = await send('b');
    // b's feedback is recorded, and nothing in the answer says that a used the key.
    expect(b.status).toBe(201);
    expect(b.json.id).not.toBe(a.json.id);
    expect(b.text).not.toContain(a.json.id);
    // Each user's retry still finds their own row.
    expect((await send('a')).json).toEqual({ id: a.json.id });
    expect((await send('b')).json).toEqual({ id: b.json.id });
  });
});

describe('POST /v1/score', () => {
  it('gives per-text NLL, plain English above noise', async () => {
    const r = await p.call('POST', '/v1/score', {
      key: app.api_key,
      body: {
        user: 'reader-1',
        texts: ['It was a dark and stormy night.', 'zq xv qqq'],
        context: 'Chapter one.',
      },
    });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(2);
    for (const x of r.json.results) expect(x.nll).toBeCloseTo(x.mean_nll * x.tokens, 4);
    expect(r.json.results[0].mean_nll).toBeLessThan(r.json.results[1].mean_nll);
  });

  it('refuses a text longer than the context with 422', async () => {
    const r = await p.call('POST', '/v1/score', {
      key: app.api_key,
      body: { user: 'u', texts: ['word '.repeat(400)] },
    });
    expect(r.status).toBe(422);
    expect(r.json.error.message).toMatch(/^texts/);
  });
});

describe('users', () => {
  it("gives the user's adapter with a download link that serves the weights", async () => {
    const missing = await p.call('GET', '/v1/users/nobody/adapter', { key: app.api_key });
    expect(missing.status).toBe(404);
    const prefix = await p.activeAdapter(app.app_id, 'dl-user', 'v7', 5);
    const info = await p.call('GET', '/v1/users/dl-user/adapter', { key: await token('dl-user') });
    expect(info.status).toBe(200);
    expect(info.json).toMatchObject({ version: 'v7', base_model: 'brown-4m' });
    const url = new URL(info.json.download.url);
    const file = await p.app.request(url.pathname + url.search);
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(
      await p.store.get(`${prefix}adapter_model.safetensors`),
    );
    // One character of the signature changed (to one it is not already).
    const tampered = await p.app.request(
      url.pathname + url.search.replace(/sig=(.)/, (_, ch: string) => `sig=${ch === 'A' ? 'B' : 'A'}`),
    );
    expect(tampered.status).toBe(403);
    const otherUser = await p.call('GET', '/v1/users/dl-user/adapter', { key: await token('someone-else') });
    expect(otherUser.status).toBe(403);
  });

  it('erases everything about a user, and only that user of that app', async () => {
    const g = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'leaver', prompt: 'Bye', max_tokens: 2 },
    });
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'leaver', generation_id: g.json.id, rating: 1, idempotency_key: 'leave-1' },
    });
    const prefix = await p.activeAdapter(app.app_id, 'leaver', 'v1');
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'stayer', text: 'kept', rating: 1 },
    });
    const other = await p.newApp('other-2');
    expect((await p.call('DELETE', '/v1/users/leaver', { key: other.api_key })).status).toBe(204);
    expect(await p.store.get(`${prefix}adapter_config.json`)).not.toBeNull(); // another app's key touched nothing
    expect((await p.call('DELETE', '/v1/users/leaver', { key: app.api_key })).status).toBe(204);
    expect(await p.store.list(`adapters/${app.app_id}/leaver/`)).toEqual([]);
    const admin = { key: ADMIN };
    expect((await p.call('GET', `/admin/apps/${app.app_id}/feedback?user=leaver`, admin)).json.items).toEqual(
      [],
    );
    expect(
      (await p.call('GET', `/admin/apps/${app.app_id}/generations?user=leaver`, admin)).json.items,
    ).toEqual([]);
    expect((await p.call('GET', `/admin/apps/${app.app_id}/adapters?user=leaver`, admin)).json.items).toEqual(
      [],
    );
    expect(
      (await p.call('GET', `/admin/apps/${app.app_id}/feedback?user=stayer`, admin)).json.items,
    ).toHaveLength(1);
    // Feedback queued for the erased generation is still accepted, as a new record.
    const late = await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'leaver', generation_id: g.json.id, rating: 1, idempotency_key: 'leave-1' },
    });
    expect(late.status).toBe(201);
  });
});
