// Webhooks end to end: registration and its refusals over the API (nothing written on a refusal), then real
// deliveries to a receiver on 127.0.0.1 (node:http) after promotions and rollbacks made every way the platform
// makes them — the worker's publish, the admin routes, a style import — signed, retried with backoff, never
// sent twice by two deliverers at once, and dropped when the user is erased.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishAdapter } from '../../core/adapters/publish.js';
import { insertAdapter } from '../../core/db/adapters.js';
import { MAX_WEBHOOKS_PER_APP } from '../../core/db/webhooks.js';
import { WebhookDeliverer } from '../../core/webhooks/deliverer.js';
import { verifyWebhookSignature } from '../../core/webhooks/signature.js';
import { fingerprint, userToken } from '../../test/support/hostile.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { randomAdapter } from '../engine/testing.js';

type App = { app_id: string; api_key: string; signing_secret: string };

describe('webhook registration', () => {
  let p: TestPlatform;
  let A: App;
  let B: App;
  beforeAll(async () => {
    p = await startPlatform();
    A = await p.newApp('hooks-a');
    B = await p.newApp('hooks-b');
  }, 60_000);
  afterAll(() => p?.close());

  it('registers an endpoint with its secret shown once, lists and deletes it', async () => {
    const made = await p.call('POST', '/v1/webhooks', {
      key: A.api_key,
      body: { url: 'https://hooks.example.com/tailor' },
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      id: expect.stringMatching(/^whk_/),
      url: 'https://hooks.example.com/tailor',
      events: ['adapter.promoted', 'adapter.rolled_back'],
      secret: expect.stringMatching(/^whsec_.{40,}/),
    });
    const only = await p.call('POST', '/v1/webhooks', {
      key: A.api_key,
      body: { url: 'http://hooks.example.com:8080/p?x=1', events: ['adapter.rolled_back'] },
    });
    expect(only.json.events).toEqual(['adapter.rolled_back']);
    const list = await p.call('GET', '/v1/webhooks', { key: A.api_key });
    expect(list.status).toBe(200);
    expect(list.json.max).toBe(MAX_WEBHOOKS_PER_APP);
    expect(list.json.items.map((e: { id: string }) => e.id)).toEqual([made.json.id, only.json.id]);
    expect(list.text).not.toContain(made.json.secret);
    expect((await p.call('GET', '/v1/webhooks', { key: B.api_key })).json.items).toEqual([]);

    expect((await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: B.api_key })).status).toBe(404);
    expect((await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: A.api_key })).status).toBe(204);
    expect((await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: A.api_key })).status).toBe(404);
    const admin = await p.call('GET', `/admin/apps/${A.app_id}/webhooks`, { key: ADMIN });
    expect(admin.json.endpoints.map((e: { id: string }) => e.id)).toEqual([only.json.id]);
    expect(admin.json.deliveries).toEqual([]);
    expect((await p.call('DELETE', `/v1/webhooks/${only.json.id}`, { key: A.api_key })).status).toBe(204);
  });

  it('refuses bad URLs, bad events and other credentials in the error shape, writing nothing', async () => {
    const refusals: [unknown, number, string][] = [
      [{ url: 'ftp://hooks.example.com/x' }, 422, 'url'],
      [{ url: 'not a url' }, 422, 'url'],
      [{ url: `https://hooks.example.com/${'a'.repeat(2048)}` }, 422, 'url'],
      [{ url: 'https://user:pw@hooks.example.com/x' }, 422, 'url'],
      [{ url: 'http://127.0.0.1:9000/hook' }, 422, 'url'],
      [{ url: 'http://localhost/hook' }, 422, 'url'],
      [{ url: 'http://[::1]/hook' }, 422, 'url'],
      [{ url: 'http://[::ffff:10.0.0.1]/hook' }, 422, 'url'],
      [{ url: 'http://10.1.2.3/hook' }, 422, 'url'],
      [{ url: 'http://192.168.0.10/hook' }, 422, 'url'],
      [{ url: 'http://169.254.169.254/latest/meta-data' }, 422, 'url'],
      [{ url: 'https://hooks.example.com/x', events: ['adapter.deleted'] }, 422, 'events.0'],
      [{ url: 'https://hooks.example.com/x', events: [] }, 422, 'events'],
      [{ url: 'https://hooks.example.com/x', secret: 'mine' }, 422, '(body)'],
      [{}, 422, 'url'],
    ];
    for (const [body, status, path] of refusals) {
      const before = await fingerprint(p);
      const res = await p.call('POST', '/v1/webhooks', { key: A.api_key, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
      expect(await fingerprint(p), JSON.stringify(body)).toEqual(before);
    }
    const before = await fingerprint(p);
    const token = userToken('reader', A);
    const asUser = await p.call('POST', '/v1/webhooks', { key: token, body: { url: 'https://h.example/x' } });
    expect([asUser.status, asUser.json.error.code]).toEqual([403, 'forbidden']);
    expect((await p.call('GET', '/v1/webhooks', { key: token })).status).toBe(403);
    expect((await p.call('POST', '/v1/webhooks', { body: { url: 'https://h.example/x' } })).status).toBe(401);
    expect((await p.call('POST', '/v1/webhooks', { key: A.api_key, raw: '{"url":' })).status).toBe(400);
    expect((await p.call('GET', '/v1/webhooks', { key: ADMIN })).status).toBe(401);
    expect(await fingerprint(p)).toEqual(before);
  });

  it(`refuses an endpoint beyond the ${MAX_WEBHOOKS_PER_APP}th with 409`, async () => {
    for (let i = 0; i < MAX_WEBHOOKS_PER_APP; i++) {
      const r = await p.call('POST', '/v1/webhooks', {
        key: B.api_key,
        body: { url: `https://h.example/${i}` },
      });
      expect(r.status).toBe(201);
    }
    const before = await fingerprint(p);
    const over = await p.call('POST', '/v1/webhooks', {
      key: B.api_key,
      body: { url: 'https://h.example/x' },
    });
    expect([over.status, over.json.error.code]).toEqual([409, 'conflict']);
    expect(await fingerprint(p)).toEqual(before);
  });
});

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('webhook delivery to a real receiver', () => {
  let p: TestPlatform;
  let app: App;
  let server: Server;
  let base: string;
  const received: Received[] = [];
  /** Answers per path: /flaky fails twice, then succeeds. */
  let flakyCalls = 0;
  const secrets: Record<string, string> = {};
  const deliverers: WebhookDeliverer[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({ path, headers: req.headers, body });
        const status = path === '/flaky' ? (++flakyCalls <= 2 ? 500 : 200) : 204;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    p = await startPlatform({
      WEBHOOK_ALLOW_PRIVATE_URLS: '1',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_POLL_MS: '20',
      WEBHOOK_TIMEOUT_MS: '2000',
    });
    app = await p.newApp('hooked');
    for (const path of ['/ok', '/flaky']) {
      const r = await p.call('POST', '/v1/webhooks', { key: app.api_key, body: { url: base + path } });
      expect(r.status).toBe(201);
      secrets[path] = r.json.secret;
    }
    // Two deliverers on one database, as two API processes would run them.
    for (const id of ['one', 'two']) {
      const d = new WebhookDeliverer({ db: p.database.db, config: p.services.config.webhooks, workerId: id });
      d.start();
      deliverers.push(d);
    }
  }, 60_000);
  afterAll(async () => {
    for (const d of deliverers) await d.stop();
    await p?.close();
    await new Promise((r) => server?.close(r));
  });

  const events = (path: string) =>
    received.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as Record<string, any>);
  async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
    for (const end = Date.now() + ms; !ok(); ) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const candidate = (userId: string, version: string) =>
    insertAdapter(
      p.database.db,
      { appId: app.app_id, userId },
      {
        version,
        storagePrefix: `adapters/${app.app_id}/${userId}/${version}/`,
        baseModelId: p.services.baseModelId,
        status: 'candidate',
      },
    );

  it('signs a Stripe-style header over timestamp and body that the receiver verifies', async () => {
    await p.activeAdapter(app.app_id, 'reader', 'v1', 5);
    await until('the first promotion', () => events('/ok').length >= 1);
    const [hit] = received.filter((r) => r.path === '/ok');
    const header = hit?.headers['tailor-signature'] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // Verified the way docs/api.md shows a receiver doing it, with node:crypto.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(header) as RegExpExecArray;
    const want = createHmac('sha256', secrets['/ok'] as string)
      .update(`${t}.${hit?.body}`)
      .digest('hex');
    expect(timingSafeEqual(Buffer.from(v1 as string), Buffer.from(want))).toBe(true);
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
    expect(await verifyWebhookSignature(secrets['/ok'] as string, hit?.body as string, header)).toBe(true);
    expect(await verifyWebhookSignature(secrets['/flaky'] as string, hit?.body as string, header)).toBe(
      false,
    );
    expect(await verifyWebhookSignature(secrets['/ok'] as string, `${hit?.body} `, header)).toBe(false);
    expect(hit?.headers['content-type']).toBe('application/json');
    const event = JSON.parse(hit?.body as string);
    expect(hit?.headers['tailor-event-id']).toBe(event.id);
    expect(hit?.headers['tailor-event']).toBe('adapter.promoted');
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: 'adapter.promoted',
      created_at: expect.any(String),
      app_id: app.app_id,
      data: { user: 'reader', version: 'v1', previous_version: null },
    });
  });

  it('delivers to a receiver that answers 500 twice on the third attempt, with backoff', async () => {
    await until('the flaky endpoint to take it', () => events('/flaky').length >= 3);
    const flaky = events('/flaky');
    expect(flaky.map((e) => e.id)).toEqual(Array(3).fill(events('/ok')[0]?.id));
    const admin = await p.call('GET', `/admin/apps/${app.app_id}/webhooks`, { key: ADMIN });
    const ids = Object.fromEntries(
      admin.json.endpoints.map((e: { id: string; url: string }) => [e.url, e.id]),
    );
    const d = admin.json.deliveries.find(
      (x: { endpoint_id: string }) => x.endpoint_id === ids[`${base}/flaky`],
    );
    expect(d).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_status: 200,
      last_error: null,
      user: 'reader',
    });
  });

  it('tells of promotions and rollbacks by the admin routes, the worker’s publish and a style import', async () => {
    const seen = () => events('/ok').length;
    const n0 = seen();
    await candidate('reader', 'v2');
    const promoted = await p.call('POST', '/admin/adapters/promote', {
      key: ADMIN,
      body: { app: app.app_id, user: 'reader', version: 'v2' },
    });
    expect(promoted.status).toBe(200);
    await until('the admin promotion', () => seen() >= n0 + 1);
    const rolled = await p.call('POST', '/admin/adapters/rollback', {
      key: ADMIN,
      body: { app: app.app_id, user: 'reader' },
    });
    expect(rolled.status).toBe(200);
    await until('the rollback', () => seen() >= n0 + 2);
    // What the worker does when the gate passes.
    const files = randomAdapter(p.engine.model.shape, { r: 1, alpha: 2, targets: ['q_proj'], seed: 9 });
    const published = await publishAdapter(p.database.db, p.store, {
      owner: { appId: app.app_id, userId: 'reader' },
      files,
      baseModel: { id: p.services.baseModelId, hash: 'h' },
      dataHash: 'd',
      metrics: {},
      promote: true,
    });
    await until('the publish', () => seen() >= n0 + 3);
    // A gate that fails publishes a rejected version: nothing changes, nothing is told.
    await publishAdapter(p.database.db, p.store, {
      owner: { appId: app.app_id, userId: 'reader' },
      files,
      baseModel: { id: p.services.baseModelId, hash: 'h' },
      dataHash: 'd',
      metrics: {},
      promote: false,
    });
    const style = await p.call('POST', `/admin/apps/${app.app_id}/styles/import`, {
      key: ADMIN,
      body: {
        style: 'noir',
        adapter_config: Buffer.from(files.config).toString('base64'),
        adapter_model: Buffer.from(files.weights).toString('base64'),
      },
    });
    expect(style.status).toBe(201);
    await until('the style import', () => seen() >= n0 + 4);
    await new Promise((r) => setTimeout(r, 200));
    const later = events('/ok').slice(n0);
    expect(later.map((e) => [e.type, e.data])).toEqual([
      ['adapter.promoted', { user: 'reader', version: 'v2', previous_version: 'v1' }],
      ['adapter.rolled_back', { user: 'reader', version: 'v1', previous_version: 'v2' }],
      ['adapter.promoted', { user: 'reader', version: published.adapter.version, previous_version: 'v1' }],
      ['adapter.promoted', { style: 'noir', version: style.json.adapter.version, previous_version: null }],
    ]);
  });

  it('sends each delivery once although two deliverers run', async () => {
    await until('the flaky endpoint to catch up', () => events('/flaky').length >= 3 + 4);
    await new Promise((r) => setTimeout(r, 300));
    const ok = events('/ok').map((e) => e.id);
    expect(new Set(ok).size).toBe(ok.length);
    const flaky = events('/flaky')
      .slice(3)
      .map((e) => e.id);
    expect(new Set(flaky).size).toBe(flaky.length);
    expect(flaky.sort()).toEqual(ok.slice(1).sort());
  });

  it('drops the deliveries about a user when the user is erased, pending ones included', async () => {
    const dead = await p.call('POST', '/v1/webhooks', {
      key: app.api_key,
      body: { url: 'http://127.0.0.1:1/nobody-listens', events: ['adapter.promoted'] },
    });
    expect(dead.status).toBe(201);
    await p.activeAdapter(app.app_id, 'leaving', 'v1', 6);
    await until('the others to be told', () => events('/ok').some((e) => e.data.user === 'leaving'));
    const list = async () =>
      (await p.call('GET', `/admin/apps/${app.app_id}/webhooks`, { key: ADMIN })).json.deliveries as {
        user: string | null;
        endpoint_id: string;
        status: string;
        last_error: string | null;
      }[];
    for (let i = 0; i < 100; i++) {
      const d = (await list()).find((x) => x.endpoint_id === dead.json.id);
      if (d?.last_error) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const pending = (await list()).find((x) => x.endpoint_id === dead.json.id);
    expect(pending).toMatchObject({ user: 'leaving', status: 'pending' });
    expect(pending?.last_error).toBeTruthy();
    expect((await p.call('DELETE', '/v1/users/leaving', { key: app.api_key })).status).toBe(204);
    const after = await list();
    expect(after.filter((x) => x.user === 'leaving')).toEqual([]);
    expect(after.some((x) => x.user === 'reader')).toBe(true);
  });
});
