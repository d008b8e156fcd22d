// Admin and system routes: apps, listings, promotion and rollback, training runs, health, metrics, OpenAPI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAdapter } from '../../../core/db/adapters.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };
const admin = { key: ADMIN };

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('console-app');
}, 60_000);
afterAll(() => p.close());

describe('admin', () => {
  it('creates apps whose key works at once, and lists them', async () => {
    const created = await p.call('POST', '/admin/apps', { ...admin, body: { name: 'fresh' } });
    expect(created.status).toBe(201);
    expect(created.json.api_key).toMatch(/^tlk_/);
    const gen = await p.call('POST', '/v1/generate', {
      key: created.json.api_key,
      body: { user: 'u', prompt: 'Hi', max_tokens: 1 },
    });
    expect(gen.status).toBe(200);
    const apps = await p.call('GET', '/admin/apps', admin);
    expect(apps.json.items.map((a: { name: string }) => a.name)).toEqual(
      expect.arrayContaining(['fresh', 'console-app']),
    );
  });

  it('pages through users with a cursor', async () => {
    for (const u of ['p1', 'p2', 'p3']) {
      await p.call('POST', '/v1/feedback', { key: app.api_key, body: { user: u, text: 'liked', rating: 1 } });
    }
    const first = await p.call('GET', `/admin/apps/${app.app_id}/users?limit=2`, admin);
    expect(first.json.items).toHaveLength(2);
    const rest = await p.call(
      'GET',
      `/admin/apps/${app.app_id}/users?limit=2&cursor=${encodeURIComponent(first.json.next_cursor)}`,
      admin,
    );
    const all = [...first.json.items, ...rest.json.items].map((u: { user: string }) => u.user);
    expect(all.sort()).toEqual(['p1', 'p2', 'p3']);
  });

  it('promotes a version and rolls back to the previous one; generation follows at once', async () => {
    await p.activeAdapter(app.app_id, 'reader', 'v1', 1);
    await p.activeAdapter(app.app_id, 'reader', 'v2', 2);
    const gen = () =>
      p.call('POST', '/v1/generate', {
        key: app.api_key,
        body: { user: 'reader', prompt: 'x', max_tokens: 1 },
      });
    expect((await gen()).json.adapter).toEqual({ version: 'v2' });
    const back = await p.call('POST', '/admin/adapters/rollback', {
      ...admin,
      body: { app: app.app_id, user: 'reader' },
    });
    expect(back.status).toBe(200);
    expect(back.json.active.version).toBe('v1');
    expect(back.json.retired.version).toBe('v2');
    expect((await gen()).json.adapter).toEqual({ version: 'v1' });
    const fwd = await p.call('POST', '/admin/adapters/promote', {
      ...admin,
      body: { app: app.app_id, user: 'reader', version: 'v2' },
    });
    expect(fwd.json.active.version).toBe('v2');
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/adapters?user=reader`, admin);
    expect(
      listed.json.items.map((a: { version: string; status: string }) => `${a.version}:${a.status}`).sort(),
    ).toEqual(['v1:retired', 'v2:active']);
  });

  it('compares outputs: generates as a user with a chosen version', async () => {
    await p.activeAdapter(app.app_id, 'cmp', 'v1', 3);
    const body = { user: 'cmp', prompt: 'The ship', max_tokens: 6, temperature: 0 };
    const withV1 = await p.call('POST', `/admin/apps/${app.app_id}/generate`, {
      ...admin,
      body: { ...body, adapter: { version: 'v1' } },
    });
    const base = await p.call('POST', `/admin/apps/${app.app_id}/generate`, {
      ...admin,
      body: { ...body, adapter: 'none' },
    });
    expect(withV1.json.adapter).toEqual({ version: 'v1' });
    expect(base.json.adapter).toBeNull();
  });

  it('refuses a version still training', async () => {
    await insertAdapter(
      p.database.db,
      { appId: app.app_id, userId: 'wip' },
      {
        version: 'v9',
        storagePrefix: `adapters/${app.app_id}/wip/v9/`,
        baseModelId: 'brown-4m',
      },
    );
    const r = await p.call('POST', '/admin/adapters/promote', {
      ...admin,
      body: { app: app.app_id, user: 'wip', version: 'v9' },
    });
    expect(r.status).toBe(409);
  });

  it('says so when no training worker is attached', async () => {
    const r = await p.call('POST', '/admin/training/run', { ...admin, body: {} });
    expect(r.status).toBe(503);
    expect(r.json.error.message).toMatch(/no training worker/);
  });
});

describe('system', () => {
  it('answers healthz', async () => {
    const r = await p.call('GET', '/healthz');
    expect(r.json).toMatchObject({ status: 'ok', database: 'ok', base_model: 'brown-4m' });
  });

  it('exports Prometheus metrics with one TYPE line per family', async () => {
    await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'm', prompt: 'x', max_tokens: 2 },
    });
    const r = await p.call('GET', '/metrics');
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.text).toMatch(
      /tailor_http_requests_total\{method="POST",route="\/v1\/generate",status="200"\} \d+/,
    );
    expect(r.text).toMatch(/tailor_completion_tokens_total \d+/);
    const types = r.text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
  });

  it('serves an OpenAPI document whose operations reference existing schemas, and the docs page', async () => {
    const doc = (await p.call('GET', '/openapi.json')).json;
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/generate', '/v1/score', '/v1/feedback']),
    );
    const refs = JSON.stringify(doc.paths).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop() as string]).toBeDefined();
    const docs = await p.call('GET', '/docs');
    expect(docs.headers.get('content-type')).toContain('text/html');
    expect(docs.text).toContain('/openapi.json');
  });
});
