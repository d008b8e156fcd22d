// Webhooks end to end: registration, secret rotation and their refusals over the API (nothing written on a
// refusal), then real deliveries to a receiver on 127.0.0.1 (node:http) after promotions and rollbacks made
// every way the platform makes them — the worker's publish, the admin routes, a style import — signed (Standard
// Webhooks; legacy endpoints also Tailor-Signature), retried with backoff, never sent twice by two deliverers at
// once, and dropped when the user is erased; and none at all to a name that resolves to this machine.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishAdapter } from '../../core/adapters/publish.js';
import { insertAdapter } from '../../core/db/adapters.js';
import { MAX_WEBHOOKS_PER_APP } from '../../core/db/webhooks.js';
import { nodeWebhookFetch, type ResolveHost, resolveHost } from '../../core/node/webhook-fetch.js';
import { WebhookDeliverer } from '../../core/webhooks/deliverer.js';
import { verifyStandardWebhook, verifyWebhookSignature } from '../../core/webhooks/signature.js';
import { randomAdapter } from '../../engine/testing.js';
import { webhookEndpoints } from '../../schema/tables.js';
import { fingerprint, userToken } from '../../test/support/hostile.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

type App = { app_id: string; api_key: string; signing_secret: string };

/** `evil.example` resolves to 127.0.0.1 here; other names as the system resolves them. */
const resolve: ResolveHost = async (host) =>
  host === 'evil.example' ? [{ address: '127.0.0.1', family: 4 }] : resolveHost(host);

/** Standard Webhooks' signature over one delivery, computed here as a receiver without the library would. */
const standardSig = (secret: string, h: IncomingHttpHeaders, body: string) =>
  createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${h['webhook-id']}.${h['webhook-timestamp']}.${body}`)
    .digest('base64');

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
      signature_scheme: 'standard',
      previous_secret_until: null,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
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
      // IPv4 inside IPv6: compatible, translated, NAT64, 6to4; and site-local.
      [{ url: 'http://[::127.0.0.1]:9999/' }, 422, 'url'],
      [{ url: 'http://[::ffff:0:127.0.0.1]/' }, 422, 'url'],
      [{ url: 'http://[64:ff9b::7f00:1]/' }, 422, 'url'],
      [{ url: 'http://[2002:7f00:1::]/' }, 422, 'url'],
      [{ url: 'http://[fec0::1]/' }, 422, 'url'],
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

  it('rotates a secret with the app key only, showing the new one once, with the overlap asked for', async () => {
    const made = await p.call('POST', '/v1/webhooks', {
      key: A.api_key,
      body: { url: 'https://r.example/x' },
    });
    const path = `/v1/webhooks/${made.json.id}/rotate-secret`;
    const t0 = Date.now();
    const rotated = await p.call('POST', path, { key: A.api_key }); // no body: a day's overlap
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({
      id: made.json.id,
      signature_scheme: 'standard',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(rotated.json.secret).not.toBe(made.json.secret);
    const until = Date.parse(rotated.json.previous_secret_until);
    expect(Math.abs(until - t0 - 86_400_000)).toBeLessThan(60_000);
    const week = await p.call('POST', path, { key: A.api_key, body: { overlap_s: 604_800 } });
    expect(Date.parse(week.json.previous_secret_until) - Date.now()).toBeGreaterThan(604_700_000);
    const none = await p.call('POST', path, { key: A.api_key, body: { overlap_s: 0 } });
    expect(none.json.previous_secret_until).toBeNull();
    const list = await p.call('GET', '/v1/webhooks', { key: A.api_key });
    for (const secret of [made.json.secret, rotated.json.secret, week.json.secret, none.json.secret])
      expect(list.text).not.toContain(secret);
    const log = await p.call('GET', `/admin/audit?app=${A.app_id}&action=webhook.secret_rotated`, {
      key: ADMIN,
    });
    expect(log.json.items.map((i: { details: unknown }) => i.details)).toEqual([
      { overlap_s: 0 },
      { overlap_s: 604_800 },
      { overlap_s: 86_400 },
    ]);

    const before = await fingerprint(p);
    const refusals: [string, { key?: string; body?: unknown }, number][] = [
      [path, { key: B.api_key }, 404],
      [path, { key: userToken('reader', A) }, 403],
      [path, {}, 401],
      [path, { key: ADMIN }, 401],
      ['/v1/webhooks/whk_none/rotate-secret', { key: A.api_key }, 404],
      [path, { key: A.api_key, body: { overlap_s: -1 } }, 422],
      [path, { key: A.api_key, body: { overlap_s: 604_801 } }, 422],
      [path, { key: A.api_key, body: { overlap_s: 1.5 } }, 422],
      [path, { key: A.api_key, body: { secret: 'whsec_mine' } }, 422],
    ];
    for (const [at, opts, status] of refusals) {
      const res = await p.call('POST', at, opts);
      expect(res.status, JSON.stringify([at, opts])).toBe(status);
    }
    expect(await fingerprint(p)).toEqual(before);
    expect((await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: A.api_key })).status).toBe(204);
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
  const send = nodeWebhookFetch({ allowPrivate: true, resolve });

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
      const d = new WebhookDeliverer({
        db: p.database.db,
        config: p.services.config.webhooks,
        fetch: send,
        workerId: id,
      });
      d.start();
      deliverers.push(d);
    }
  }, 60_000);
  afterAll(async () => {
    for (const d of deliverers) await d.stop();
    await send.close();
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

  it('signs Standard Webhooks headers over id, timestamp and body that the receiver verifies', async () => {
    await p.activeAdapter(app.app_id, 'reader', 'v1', 5);
    await until('the first promotion', () => events('/ok').length >= 1);
    const [hit] = received.filter((r) => r.path === '/ok');
    const h = hit?.headers as IncomingHttpHeaders;
    const body = hit?.body as string;
    const event = JSON.parse(body);
    expect(h['webhook-id']).toBe(event.id);
    expect(Math.abs(Date.now() / 1000 - Number(h['webhook-timestamp']))).toBeLessThan(60);
    // Verified the way docs/api.md shows a receiver doing it without the library, with node:crypto.
    expect(h['webhook-signature']).toBe(`v1,${standardSig(secrets['/ok'] as string, h, body)}`);
    expect(await verifyStandardWebhook(secrets['/ok'] as string, h, body)).toBe(true);
    expect(await verifyStandardWebhook(secrets['/flaky'] as string, h, body)).toBe(false);
    expect(await verifyStandardWebhook(secrets['/ok'] as string, h, `${body} `)).toBe(false);
    // A new endpoint is `standard`: none of the legacy headers.
    expect(h['tailor-signature']).toBeUndefined();
    expect(h['tailor-event-id']).toBeUndefined();
    expect(h['content-type']).toBe('application/json');
    expect(h['tailor-event']).toBe('adapter.promoted');
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
    // The receiver has answered; the deliverer records that just after, so look until it has.
    let d: { status: string } | undefined;
    for (let i = 0; i < 100 && d?.status !== 'delivered'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      const admin = await p.call('GET', `/admin/apps/${app.app_id}/webhooks`, { key: ADMIN });
      const ids = Object.fromEntries(
        admin.json.endpoints.map((e: { id: string; url: string }) => [e.url, e.id]),
      );
      d = admin.json.deliveries.find((x: { endpoint_id: string }) => x.endpoint_id === ids[`${base}/flaky`]);
    }
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
    const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
      r: 1,
      alpha: 2,
      targets: ['q_proj'],
      seed: 9,
    });
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

  it('signs a legacy endpoint both ways until its secret is rotated, then with both secrets during the overlap', async () => {
    const made = await p.call('POST', '/v1/webhooks', {
      key: app.api_key,
      body: { url: `${base}/legacy`, events: ['adapter.promoted'] },
    });
    // An endpoint registered before the standard: its secret base64url, its scheme `legacy` (migration 0008).
    const legacy = `whsec_${Buffer.from(new Uint8Array(32).map((_, i) => 255 - i * 3)).toString('base64url')}`;
    expect(legacy).toMatch(/[-_]/);
    await p.database.db
      .update(webhookEndpoints)
      .set({ secret: legacy, signatureScheme: 'legacy' })
      .where(eq(webhookEndpoints.id, made.json.id));
    const hits = () => received.filter((r) => r.path === '/legacy');
    await p.activeAdapter(app.app_id, 'legacy-reader', 'v1', 7);
    await until('the legacy delivery', () => hits().length >= 1);
    const [first] = hits();
    const h = first?.headers as IncomingHttpHeaders;
    const body = first?.body as string;
    // The old header, keyed by the secret's text, as before; and the standard one, keyed by its bytes.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(h['tailor-signature'] as string) as RegExpExecArray;
    const want = createHmac('sha256', legacy).update(`${t}.${body}`).digest('hex');
    expect(timingSafeEqual(Buffer.from(v1 as string), Buffer.from(want))).toBe(true);
    expect(await verifyWebhookSignature(legacy, body, h['tailor-signature'] as string)).toBe(true);
    expect(h['tailor-event-id']).toBe(JSON.parse(body).id);
    const converted = `whsec_${Buffer.from(legacy.slice(6), 'base64url').toString('base64')}`;
    expect(h['webhook-signature']).toBe(`v1,${standardSig(converted, h, body)}`);
    expect(t).toBe(h['webhook-timestamp']);
    const listed = await p.call('GET', '/v1/webhooks', { key: app.api_key });
    expect(listed.json.items.find((e: { id: string }) => e.id === made.json.id).signature_scheme).toBe(
      'legacy',
    );

    const rotated = await p.call('POST', `/v1/webhooks/${made.json.id}/rotate-secret`, {
      key: app.api_key,
      body: { overlap_s: 3600 },
    });
    expect(rotated.json.signature_scheme).toBe('standard');
    await p.activeAdapter(app.app_id, 'legacy-reader', 'v2', 8);
    await until('the delivery after the rotation', () => hits().length >= 2);
    const second = hits()[1] as Received;
    expect(second.headers['tailor-signature']).toBeUndefined();
    expect(second.headers['webhook-signature']).toBe(
      `v1,${standardSig(rotated.json.secret, second.headers, second.body)} v1,${standardSig(converted, second.headers, second.body)}`,
    );
    for (const s of [rotated.json.secret, converted])
      expect(await verifyStandardWebhook(s, second.headers, second.body)).toBe(true);

    const closed = await p.call('POST', `/v1/webhooks/${made.json.id}/rotate-secret`, {
      key: app.api_key,
      body: { overlap_s: 0 },
    });
    await p.activeAdapter(app.app_id, 'legacy-reader', 'v3', 9);
    await until('the delivery after the second rotation', () => hits().length >= 3);
    const third = hits()[2] as Received;
    expect(third.headers['webhook-signature']).toBe(
      `v1,${standardSig(closed.json.secret, third.headers, third.body)}`,
    );
    expect(await verifyStandardWebhook(rotated.json.secret, third.headers, third.body)).toBe(false);
    expect((await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: app.api_key })).status).toBe(204);
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

describe('webhook delivery to a name that resolves to this machine', () => {
  let p: TestPlatform;
  let app: App;
  let server: Server;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.url ?? '');
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    // Private URLs refused (the default); one attempt, so the refusal is the delivery's end.
    p = await startPlatform({ WEBHOOK_MAX_ATTEMPTS: '1' });
    app = await p.newApp('rebound');
  }, 60_000);
  afterAll(async () => {
    await p?.close();
    await new Promise((r) => server?.close(r));
  });

  /** Registers `url` (names are not resolved then), promotes a version, runs one look; the delivery. */
  async function deliverOnce(url: string, user: string, allowPrivate = false) {
    const made = await p.call('POST', '/v1/webhooks', { key: app.api_key, body: { url } });
    expect(made.status, made.text).toBe(201);
    await p.activeAdapter(app.app_id, user, 'v1', 3);
    const send = nodeWebhookFetch({ allowPrivate, resolve });
    const config = { ...p.services.config.webhooks, allowPrivateUrls: allowPrivate };
    const deliverer = new WebhookDeliverer({ db: p.database.db, config, fetch: send });
    try {
      expect(await deliverer.runOnce()).toBeGreaterThanOrEqual(1);
    } finally {
      await send.close();
    }
    const admin = await p.call('GET', `/admin/apps/${app.app_id}/webhooks`, { key: ADMIN });
    await p.call('DELETE', `/v1/webhooks/${made.json.id}`, { key: app.api_key });
    return admin.json.deliveries.find((d: { endpoint_id: string }) => d.endpoint_id === made.json.id);
  }

  it('refuses a name that resolves to 127.0.0.1: the listener there hears nothing, the delivery fails saying why', async () => {
    const d = await deliverOnce(`http://evil.example:${port}/hook`, 'u1');
    expect(d).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_status: null,
      last_error: 'URL refused: evil.example resolves to 127.0.0.1 (loopback)',
    });
    expect(received).toEqual([]);
  });

  it("refuses this machine's own name (/etc/hosts: a private address) the same way", async () => {
    const own = hostname();
    const addresses = await resolveHost(own);
    expect(addresses.length).toBeGreaterThan(0);
    const d = await deliverOnce(`http://${own}:${port}/own`, 'u2');
    expect(d.status).toBe('failed');
    expect(d.last_error).toMatch(
      new RegExp(`^URL refused: ${own.replace(/\./g, '\\.')} resolves to \\S+ \\(`),
    );
    expect(received).toEqual([]);
  });

  it('delivers to it when the operator allows private URLs', async () => {
    const d = await deliverOnce(`http://evil.example:${port}/allowed`, 'u3', true);
    expect(d).toMatchObject({ status: 'delivered', last_status: 204, last_error: null });
    expect(received).toEqual(['/allowed']);
  });
});
