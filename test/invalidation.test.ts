// What one API process changes, the others drop from their caches at once: three real processes on one
// PostgreSQL database and one S3 bucket. B hears of changes by NOTIFY alone (its poll is a minute away); C
// cannot listen (as behind a transaction-mode pooler) and polls. Before the feed, a revoked key kept working
// in the other processes for up to 30 s (their key cache), and an erased user's adapter stayed in their
// engine caches until evicted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.js';
import { openPostgres } from '../core/db/postgres.js';
import type { S3Store } from '../core/storage/s3-store.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { ADMIN } from './support/platform.js';
import type { PostgresServer } from './support/postgres.js';
import {
  callJson,
  freshDatabase,
  productionPartsEnv,
  seedActiveAdapter,
  waitFor,
} from './support/processes.js';
import { type S3TestServer, startS3Server } from './support/s3.js';

/** Well under every cache's own expiry (API keys 30 s, a poll a minute away for B). */
const AT_ONCE_MS = 3_000;
let pg: PostgresServer | undefined;
let s3: S3TestServer;
let store: S3Store;
let dbUrl: string;
let database: Database;
let a: RunningServer;
let b: RunningServer;
let c: RunningServer;
const dirs: string[] = [];

function env(over: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-invalidation-'));
  dirs.push(dir);
  return {
    TAILOR_DATA_DIR: dir,
    ADMIN_TOKEN: ADMIN,
    ...productionPartsEnv({
      dbUrl,
      s3Endpoint: s3.endpoint,
      bucket: store.bucket,
      credentials: s3.credentials,
    }),
    ...over,
  };
}

beforeAll(async () => {
  ({ url: dbUrl, server: pg } = await freshDatabase('tailor_invalidation'));
  database = openPostgres(dbUrl, { max: 2 });
  s3 = await startS3Server();
  store = await s3.newStore();
  a = await startServer(env(), { timeoutMs: 120_000 });
  [b, c] = await Promise.all([
    startServer(env({ TAILOR_INVALIDATION_POLL_MS: '60000' }), { timeoutMs: 120_000 }),
    startServer(env({ TAILOR_INVALIDATION_LISTEN: '0', TAILOR_INVALIDATION_POLL_MS: '300' }), {
      timeoutMs: 120_000,
    }),
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.all([a, b, c].filter(Boolean).map((s) => s.stop()));
  await database?.close();
  await s3?.stop();
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const cacheEntries = async (via: RunningServer) => {
  const text = (await callJson(via.url, 'GET', '/metrics', ADMIN)).text;
  return Number(/^tailor_adapter_cache_entries (\d+)/m.exec(text)?.[1]);
};

describe('caches across processes', () => {
  it('refuses a key revoked through one process in every other at once', async () => {
    const app = (await callJson(a.url, 'POST', '/admin/apps', ADMIN, { name: 'revoking' })).json;
    const second = await callJson(a.url, 'POST', `/admin/apps/${app.app_id}/keys`, ADMIN);
    expect(second.status, second.text).toBe(201);
    const key = second.json.api_key as string;
    for (const via of [b, c]) expect((await callJson(via.url, 'GET', '/v1/models', key)).status).toBe(200);
    const revoked = await callJson(
      a.url,
      'DELETE',
      `/admin/apps/${app.app_id}/keys/${second.json.key.id}`,
      ADMIN,
    );
    expect(revoked.status, revoked.text).toBe(200);
    const t0 = Date.now();
    for (const via of [b, c]) {
      await waitFor(`${via.url} to refuse the revoked key`, AT_ONCE_MS, async () =>
        (await callJson(via.url, 'GET', '/v1/models', key)).status === 401 ? true : undefined,
      );
    }
    expect(Date.now() - t0).toBeLessThan(AT_ONCE_MS);
  }, 60_000);

  it("drops an erased user's adapter from every process's caches at once", async () => {
    const app = (await callJson(a.url, 'POST', '/admin/apps', ADMIN, { name: 'erasing' })).json;
    const { app_id: appId, api_key: key } = app;
    await seedActiveAdapter(database.db, store, { appId, userId: 'ysolde' }, 'v1', 71);
    for (const via of [b, c]) {
      const g = await callJson(via.url, 'POST', '/v1/generate', key, {
        user: 'ysolde',
        prompt: 'The',
        max_tokens: 2,
      });
      expect(g.json.adapter?.version, g.text).toBe('v1');
      expect(await cacheEntries(via)).toBeGreaterThan(0);
    }
    expect((await callJson(a.url, 'DELETE', '/v1/users/ysolde', key)).status).toBe(204);
    for (const via of [b, c]) {
      await waitFor(`${via.url} to drop ysolde's adapter`, AT_ONCE_MS, async () =>
        (await cacheEntries(via)) === 0 ? true : undefined,
      ).catch((e) => {
        throw new Error(`${e.message}\n${via.output()}`);
      });
      // And serves the id as a stranger: no adapter (not the cached active version).
      const g = await callJson(via.url, 'POST', '/v1/generate', key, {
        user: 'ysolde',
        prompt: 'The',
        max_tokens: 2,
      });
      expect(g.json.adapter).toBeNull();
    }
  }, 60_000);
});
