// End to end over real HTTP, against Tailor's Node process: once on the embedded defaults (PGlite, local
// directory) and once on production parts (a PostgreSQL server, an S3-protocol server).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAdapter, promoteAdapter } from '../core/db/adapters.js';
import { openPostgres } from '../core/db/postgres.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { ADMIN } from './support/platform.js';
import { type PostgresServer, startPostgres } from './support/postgres.js';
import { type S3TestServer, startS3Server } from './support/s3.js';

async function call(base: string, method: string, path: string, key?: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, type: res.headers.get('content-type') ?? '' };
}

/** The flow an app runs: create, generate (JSON and SSE), feedback twice with one key, score. */
async function appFlow(base: string): Promise<{ appId: string; key: string }> {
  const app = await call(base, 'POST', '/admin/apps', ADMIN, { name: 'e2e' });
  expect(app.status).toBe(201);
  const key = app.json.api_key;

  const gen = await call(base, 'POST', '/v1/generate', key, {
    user: 'reader',
    prompt: 'The door opened and',
    max_tokens: 12,
    seed: 5,
  });
  expect(gen.status).toBe(200);
  expect(gen.json.usage.completion_tokens).toBeGreaterThan(0);

  const sse = await call(base, 'POST', '/v1/generate', key, {
    user: 'reader',
    prompt: 'The door opened and',
    max_tokens: 12,
    seed: 5,
    stream: true,
  });
  expect(sse.type).toContain('text/event-stream');
  const done = JSON.parse(/event: done\ndata: (.*)/.exec(sse.text)?.[1] ?? 'null');
  expect(done.text).toBe(gen.json.text);

  const fb = { user: 'reader', generation_id: gen.json.id, rating: 1, idempotency_key: 'e2e-1' };
  const f1 = await call(base, 'POST', '/v1/feedback', key, fb);
  const f2 = await call(base, 'POST', '/v1/feedback', key, fb);
  expect([f1.status, f2.status]).toEqual([201, 200]);
  expect(f2.json.id).toBe(f1.json.id);
  const stored = await call(base, 'GET', `/admin/apps/${app.json.app_id}/feedback?user=reader`, ADMIN);
  expect(stored.json.items).toHaveLength(1);

  const score = await call(base, 'POST', '/v1/score', key, { user: 'reader', texts: ['The door opened.'] });
  expect(score.status).toBe(200);
  expect(score.json.results[0].tokens).toBeGreaterThan(0);
  return { appId: app.json.app_id, key };
}

async function expectErased(base: string, appId: string, user: string) {
  for (const what of ['feedback', 'generations', 'adapters']) {
    const r = await call(base, 'GET', `/admin/apps/${appId}/${what}?user=${user}`, ADMIN);
    expect(r.json.items, what).toEqual([]);
  }
  const users = await call(base, 'GET', `/admin/apps/${appId}/users`, ADMIN);
  expect(users.json.items.map((u: { user: string }) => u.user)).not.toContain(user);
}

describe('embedded defaults: PGlite and the local directory', () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tailor-e2e-'));
    server = await startServer({
      TAILOR_DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      DATABASE_URL: '',
      S3_BUCKET: '',
      S3_ENDPOINT: '',
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the app flow and erases the user', async () => {
    const { appId, key } = await appFlow(server.url);
    expect((await call(server.url, 'DELETE', '/v1/users/reader', key)).status).toBe(204);
    await expectErased(server.url, appId, 'reader');
    expect(existsSync(join(dataDir, 'storage', 'adapters', appId, 'reader'))).toBe(false);
  }, 120_000);
});

describe('production parts: PostgreSQL and an S3-protocol server', () => {
  let pg: PostgresServer | undefined;
  let s3: S3TestServer;
  let server: RunningServer;
  let dbUrl: string;
  let bucket: string;
  let store: Awaited<ReturnType<S3TestServer['newStore']>>;

  beforeAll(async () => {
    let adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) {
      pg = await startPostgres();
      adminUrl = pg.url;
    }
    const name = `tailor_e2e_${Date.now()}`;
    const sqlc = postgres(adminUrl, { max: 1 });
    await sqlc.unsafe(`create database ${name}`);
    await sqlc.end();
    dbUrl = adminUrl.replace(/\/[^/]*$/, `/${name}`);
    s3 = await startS3Server();
    store = await s3.newStore();
    bucket = store.bucket;
    server = await startServer({
      TAILOR_DATA_DIR: mkdtempSync(join(tmpdir(), 'tailor-e2e-pg-')),
      ADMIN_TOKEN: ADMIN,
      DATABASE_URL: dbUrl,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
    await pg?.stop();
  });

  it('publishes the base model to the bucket, runs the app flow, and erases a user from both', async () => {
    expect((await store.list('models/brown-4m/')).map((b) => b.key)).toContain('models/brown-4m/model.onnx');
    const { appId, key } = await appFlow(server.url);
    // The user also has an adapter version: a row in PostgreSQL and files in the bucket.
    const prefix = `adapters/${appId}/reader/v1/`;
    await store.put(`${prefix}adapter_config.json`, new TextEncoder().encode('{}'));
    await store.put(`${prefix}adapter_model.safetensors`, new Uint8Array(16));
    const database = openPostgres(dbUrl, { max: 1 });
    const owner = { appId, userId: 'reader' };
    await insertAdapter(database.db, owner, {
      version: 'v1',
      storagePrefix: prefix,
      baseModelId: 'brown-4m',
      status: 'candidate',
    });
    await promoteAdapter(database.db, owner, 'v1');
    await database.close();
    const info = await call(server.url, 'GET', '/v1/users/reader/adapter', key);
    expect(info.json.version).toBe('v1');
    expect(info.json.download.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tailor-test-/); // presigned by S3
    expect((await call(server.url, 'DELETE', '/v1/users/reader', key)).status).toBe(204);
    await expectErased(server.url, appId, 'reader');
    expect(await store.list(`adapters/${appId}/reader/`)).toEqual([]);
  }, 120_000);
});
