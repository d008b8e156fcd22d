// The SDK (@tailor/sdk) against the real platform process, on PostgreSQL and an S3-protocol server (so an
// adapter can be seeded from here): in app-key mode and in user-token mode (with a refresh after a 401), a
// streamed generation whose pieces make the final text, a JSON one, scores, feedback made idempotent by its
// key, the adapter (none, then a seeded one with its download link), erasure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.js';
import { openPostgres } from '../core/db/postgres.js';
import type { S3Store } from '../core/storage/s3-store.js';
import { signUserToken } from '../functions/auth/jwt.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { Tailor, TailorError } from '../sdk/src/index.js';
import { ADMIN } from './support/platform.js';
import type { PostgresServer } from './support/postgres.js';
import { callJson, freshDatabase, productionPartsEnv, seedActiveAdapter } from './support/processes.js';
import { type S3TestServer, startS3Server } from './support/s3.js';

let pg: PostgresServer | undefined;
let s3: S3TestServer;
let store: S3Store;
let database: Database;
let server: RunningServer;
let dataDir: string;
let app: { app_id: string; api_key: string; signing_secret: string };

const GEN_ID = /^gen_/;
const tokenFor = (sub: string, ttl = 300) =>
  signUserToken({ sub, exp: Math.floor(Date.now() / 1000) + ttl }, app.signing_secret, app.app_id);

beforeAll(async () => {
  let dbUrl: string;
  ({ url: dbUrl, server: pg } = await freshDatabase('tailor_sdk'));
  database = openPostgres(dbUrl, { max: 2 });
  s3 = await startS3Server();
  store = await s3.newStore();
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-sdk-'));
  server = await startServer(
    {
      TAILOR_DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      ...productionPartsEnv({
        dbUrl,
        s3Endpoint: s3.endpoint,
        bucket: store.bucket,
        credentials: s3.credentials,
      }),
    },
    { timeoutMs: 120_000 },
  );
  const created = await callJson(server.url, 'POST', '/admin/apps', ADMIN, { name: 'sdk' });
  expect(created.status).toBe(201);
  app = created.json;
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await database?.close();
  await s3?.stop();
  await pg?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** What every mode must do, for `user` (named with an app key, left out with a token). */
async function theCalls(tailor: Tailor, user: string | undefined, expectedUser: string) {
  const u = user !== undefined ? { user } : {};
  const stream = tailor.generate({ ...u, prompt: 'The old house', max_tokens: 12, seed: 3 });
  const pieces: string[] = [];
  for await (const p of stream) pieces.push(p.text);
  const done = await stream.done;
  expect(pieces.length).toBeGreaterThan(1);
  expect(pieces.join('')).toBe(done.text);
  expect(await stream.id).toBe(done.id);
  expect(done.id).toMatch(GEN_ID);

  const same = await tailor.complete({ ...u, prompt: 'The old house', max_tokens: 12, seed: 3 });
  expect(same.text).toBe(done.text);
  expect(same.id).toMatch(GEN_ID);
  expect(same.id).not.toBe(done.id);

  const scored = await tailor.score({ ...u, context: 'The night was', texts: ['dark and stormy.', 'x y z'] });
  expect(scored.results).toHaveLength(2);
  expect(scored.results[0]?.mean_nll).toBeGreaterThan(0);

  const key = `like-${expectedUser}-${Date.now()}`;
  const first = await tailor.feedback({ ...u, generation_id: done.id, rating: 1 }, { idempotencyKey: key });
  const again = await tailor.feedback({ ...u, generation_id: done.id, rating: 1 }, { idempotencyKey: key });
  expect(first.duplicate).toBe(false);
  expect(again).toEqual({ id: first.id, duplicate: true });
  const conflict = await tailor
    .feedback({ ...u, generation_id: done.id, rating: -1 }, { idempotencyKey: key })
    .catch((e: unknown) => e);
  expect(conflict).toBeInstanceOf(TailorError);
  expect(conflict).toMatchObject({ status: 409, code: 'idempotency_conflict' });
  const auto = await tailor.feedback({ ...u, text: 'A passage the reader loved.', rating: 1 });
  expect(auto.duplicate).toBe(false);

  expect(await tailor.adapter(user)).toBeNull();

  const feedbackOf = async () =>
    (await callJson(server.url, 'GET', `/admin/apps/${app.app_id}/feedback?user=${expectedUser}`, ADMIN)).json
      .items;
  expect(await feedbackOf()).toHaveLength(2);
  await tailor.erase(user);
  expect(await feedbackOf()).toHaveLength(0);
}

describe('the SDK against the platform', () => {
  it('server mode (app key, user named): stream, complete, score, feedback, adapter, erase', async () => {
    await theCalls(new Tailor({ baseUrl: server.url, apiKey: app.api_key }), 'sdk-reader', 'sdk-reader');
  });

  it('device mode (user token, user left out), refreshing an expired token once', async () => {
    let refreshes = 0;
    const tailor = new Tailor({
      baseUrl: server.url,
      token: await tokenFor('sdk-device', -60), // expired: the first call gets a 401
      refreshToken: async () => {
        refreshes++;
        return tokenFor('sdk-device');
      },
    });
    await theCalls(tailor, undefined, 'sdk-device');
    expect(refreshes).toBe(1);
    const other = await tailor.adapter('someone-else').catch((e: unknown) => e);
    expect(other).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it("gives a seeded adapter's version and a download link that serves its weights", async () => {
    await seedActiveAdapter(database.db, store, { appId: app.app_id, userId: 'sdk-seeded' }, 'v-sdk-1', 11);
    const server_ = new Tailor({ baseUrl: server.url, apiKey: app.api_key });
    const device = new Tailor({ baseUrl: server.url, token: () => tokenFor('sdk-seeded') });
    for (const a of [await server_.adapter('sdk-seeded'), await device.adapter()]) {
      expect(a?.version).toBe('v-sdk-1');
      const res = await fetch(a?.download.url as string);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    const g = await device.complete({ prompt: 'The harbour', max_tokens: 4, seed: 1 });
    expect(g.adapter).toEqual({ version: 'v-sdk-1' });
    await device.erase();
    expect(await server_.adapter('sdk-seeded')).toBeNull();
  });

  it('cancels a stream: the loop ends, done rejects with aborted', async () => {
    const tailor = new Tailor({ baseUrl: server.url, apiKey: app.api_key });
    const stream = tailor.generate({ user: 'sdk-cancel', prompt: 'Far away', max_tokens: 200, seed: 2 });
    let n = 0;
    for await (const _ of stream) if (++n === 2) stream.cancel();
    expect(n).toBe(2);
    await expect(stream.done).rejects.toMatchObject({ code: 'aborted' });
    const ctrl = new AbortController();
    const aborted = tailor.generate(
      { user: 'sdk-cancel', prompt: 'Far away', max_tokens: 200 },
      { signal: ctrl.signal },
    );
    ctrl.abort();
    await expect(aborted.done).rejects.toMatchObject({ code: 'aborted' });
  });
});
