// Faults injected into real processes over loopback: Tailor's Node process on a PostgreSQL server and an
// S3-protocol server, each behind a fault proxy (test/support/fault-proxy.ts) that can refuse or swallow every
// connection; training workers in processes of their own, killed with SIGKILL mid-training and mid-publish;
// the API stopped with SIGTERM under load. What must hold: bounded answers that say why (never a 500 or a hang),
// recovery without a restart, nothing accepted lost, nothing partial served.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdapterFiles } from '../core/adapters/package.js';
import { getActiveAdapter } from '../core/db/adapters.js';
import type { Database } from '../core/db/database.js';
import { openPostgres } from '../core/db/postgres.js';
import type { S3Store } from '../core/storage/s3-store.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { feedback, trainingJobs } from '../schema/tables.js';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { ADMIN } from './support/platform.js';
import type { PostgresServer } from './support/postgres.js';
import {
  callJson,
  freshDatabase,
  productionPartsEnv,
  seedActiveAdapter,
  startWorkerProcess,
  type WorkerProcess,
  waitFor,
} from './support/processes.js';
import { type S3TestServer, startS3Server } from './support/s3.js';
import { parseSse } from './support/sse.js';

const LOAD_TIMEOUT_MS = 1000;
const DB_CONNECT_TIMEOUT_S = 2;

let pg: PostgresServer | undefined;
let s3: S3TestServer;
let store: S3Store;
let dbUrl: string;
let database: Database;
let pgProxy: FaultProxy;
let s3Proxy: FaultProxy;
let server: RunningServer;
let appId: string;
let key: string;
const dirs: string[] = [];
const children: WorkerProcess[] = [];

const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `tailor-faults-${name}-`));
  dirs.push(d);
  return d;
};

function env(over: Record<string, string> = {}): Record<string, string> {
  return {
    TAILOR_DATA_DIR: tmp('data'),
    ADMIN_TOKEN: ADMIN,
    ...productionPartsEnv({
      dbUrl: dbUrl.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${pgProxy.port}`),
      s3Endpoint: s3Proxy.url,
      bucket: store.bucket,
      credentials: s3.credentials,
    }),
    ADAPTER_LOAD_TIMEOUT_MS: String(LOAD_TIMEOUT_MS),
    STORAGE_TIMEOUT_MS: '1500',
    DB_CONNECT_TIMEOUT_S: String(DB_CONNECT_TIMEOUT_S),
    TAILOR_JOB_LEASE_S: '5',
    SHUTDOWN_GRACE_S: '1',
    ...over,
  };
}

const call = (method: string, path: string, body?: unknown, auth = key, base = server.url) =>
  callJson(base, method, path, auth, body);

const seedAdapter = (user: string, version: string, seed: number) =>
  seedActiveAdapter(database.db, store, { appId, userId: user }, version, seed);

const generate = (user: string, over: Record<string, unknown> = {}) =>
  call('POST', '/v1/generate', { user, prompt: 'The harbour at dawn', max_tokens: 4, seed: 3, ...over });

beforeAll(async () => {
  ({ url: dbUrl, server: pg } = await freshDatabase('tailor_faults'));
  database = openPostgres(dbUrl, { max: 2 });
  s3 = await startS3Server();
  store = await s3.newStore();
  const pgPort = Number(new URL(dbUrl).port);
  pgProxy = await startFaultProxy({ host: '127.0.0.1', port: pgPort });
  s3Proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
  server = await startServer(env(), { timeoutMs: 120_000 });
  const app = await call('POST', '/admin/apps', { name: 'faults' }, ADMIN);
  expect(app.status).toBe(201);
  ({ app_id: appId, api_key: key } = app.json);
}, 180_000);

afterAll(async () => {
  for (const c of children) c.kill();
  await server?.stop();
  await database?.close();
  await pgProxy?.close();
  await s3Proxy?.close();
  await s3?.stop();
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('storage unreachable or silent during generate', () => {
  it('serves the base model within a bound, says why (answer and /metrics), and recovers by itself', async () => {
    for (const [i, u] of ['s-ok', 's-refused', 's-silent'].entries()) await seedAdapter(u, 'v1', 50 + i);
    const ok = await generate('s-ok');
    expect(ok.json.adapter).toEqual({ version: 'v1' });

    s3Proxy.set('refuse');
    const refused = await generate('s-refused');
    expect(refused.status).toBe(200);
    expect(refused.json.adapter).toBeNull();
    expect(refused.json.adapter_fallback.reason).toMatch(/^Storage(Unavailable|Timeout): /);
    expect(refused.ms).toBeLessThan(LOAD_TIMEOUT_MS + 5_000);
    // An adapter already in the engine's cache needs no storage at all.
    expect((await generate('s-ok')).json.adapter).toEqual({ version: 'v1' });

    s3Proxy.set('hang');
    const silent = await generate('s-silent');
    expect(silent.status).toBe(200);
    expect(silent.json.adapter_fallback.reason).toMatch(/^StorageTimeout: .*within 1000 ms/);
    expect(silent.ms).toBeLessThan(LOAD_TIMEOUT_MS + 5_000);
    const metrics = (await call('GET', '/metrics', undefined, ADMIN)).text;
    expect(metrics).toMatch(/tailor_adapter_fallbacks_total\{reason="StorageTimeout"\} [1-9]/);

    s3Proxy.set('pass');
    for (const u of ['s-refused', 's-silent']) {
      let applied = null;
      for (const until = Date.now() + 20_000; !applied && Date.now() < until; ) {
        applied = (await generate(u)).json.adapter;
        if (!applied) await new Promise((r) => setTimeout(r, 250));
      }
      expect(applied, u).toEqual({ version: 'v1' });
    }
  }, 90_000);
});

describe('PostgreSQL stopped or silent during feedback and generate', () => {
  it('answers 503 with Retry-After within the timeout; a retry with the same idempotency key stores once', async () => {
    const accepted = new Set<string>();
    let load = true;
    let n = 0;
    // Feedback from other clients all along: every 2xx must be in the database afterwards.
    const background = (async () => {
      while (load) {
        const r = await call('POST', '/v1/feedback', {
          user: `bg-${n % 5}`,
          text: `Background story ${n}.`,
          rating: 1,
          idempotency_key: `bg-${n++}`,
        }).catch(() => null);
        if (r && r.status < 300) accepted.add(r.json.id);
        else if (r) expect([503]).toContain(r.status);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const item = { user: 'pg-reader', text: 'A story worth keeping.', rating: 1, idempotency_key: 'pg-1' };

    for (const mode of ['refuse', 'hang'] as const) {
      pgProxy.set(mode);
      const fb = await call('POST', '/v1/feedback', item);
      expect(fb.status, `${mode}: ${fb.text}`).toBe(503);
      expect(fb.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(fb.json.error.code).toBe('unavailable');
      expect(fb.ms).toBeLessThan(DB_CONNECT_TIMEOUT_S * 1000 + 5_000);
      const gen = await generate('pg-reader');
      expect([503, 200]).toContain(gen.status); // 200 only when every lookup was cached and the write went through
      if (gen.status === 503) expect(gen.json.error.code).toBe('unavailable');
      expect(gen.ms).toBeLessThan(DB_CONNECT_TIMEOUT_S * 1000 + 10_000);
    }

    pgProxy.set('pass');
    let first: Awaited<ReturnType<typeof call>> | undefined;
    for (const until = Date.now() + 15_000; Date.now() < until; ) {
      first = await call('POST', '/v1/feedback', item);
      if (first.status !== 503) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(first?.status).toBe(201);
    const again = await call('POST', '/v1/feedback', item);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first?.json.id);
    load = false;
    await background;
    const rows = await database.db.select().from(feedback).where(eq(feedback.idempotencyKey, 'pg-1'));
    expect(rows).toHaveLength(1);
    const stored = await database.db.execute(sql`select id from feedback where app_id = ${appId}`);
    const ids = new Set((stored as unknown as { id: string }[]).map((r) => r.id));
    expect(accepted.size).toBeGreaterThan(10);
    for (const id of accepted) expect(ids.has(id), id).toBe(true);
    // the server stayed up and serves again without a restart
    expect((await generate('pg-reader')).status).toBe(200);
  }, 90_000);
});

function startWorker(label: string): WorkerProcess {
  const w = startWorkerProcess(label, env({ TAILOR_SCHEDULE: '0', TAILOR_TRAIN_THREADS: '1' }));
  children.push(w);
  return w;
}

const jobRow = async (id: string) =>
  (await database.db.select().from(trainingJobs).where(eq(trainingJobs.id, id)))[0];

describe('a worker killed with SIGKILL', () => {
  it('mid-training and mid-publish: the job is taken again after its lease; the active version is always complete', async () => {
    const user = 'killed-reader';
    await seedAdapter(user, 'v1', 77);
    for (let i = 0; i < 8; i++) {
      const r = await call('POST', '/v1/feedback', {
        user,
        text: `Mara Vell walked down to the harbour of Kell at dawn, chapter ${i}, and the lanterns burned low.`,
        rating: 1,
      });
      expect(r.status).toBe(201);
    }
    const owner = { appId, userId: user };
    /** The active version's files are all there and parse. */
    const activeIsComplete = async () => {
      const active = await getActiveAdapter(database.db, owner);
      expect(active).not.toBeNull();
      const files = await readAdapterFiles(store, active?.storagePrefix ?? '');
      expect(files.weights.byteLength).toBeGreaterThan(1000);
      return active?.version;
    };

    const run = await call('POST', '/admin/training/run', { app: appId, users: [user] }, ADMIN);
    expect(run.status).toBe(202);
    const jobId: string = run.json.jobs[0].id;

    // 1. Killed while training.
    const w1 = startWorker('w1');
    await waitFor('w1 to train', 60_000, async () => {
      const j = await jobRow(jobId);
      return j?.status === 'running' && (j.progress as { stage?: string } | null)?.stage === 'train'
        ? true
        : undefined;
    });
    w1.kill();
    expect(await activeIsComplete()).toBe('v1');

    // 2. Another worker takes it once the lease has run out, and is killed as soon as the first file of the new
    // version is in the bucket (before the row that would point at it).
    const w2 = startWorker('w2');
    const before = new Set((await store.list(`adapters/${appId}/${user}/`)).map((b) => b.key));
    await waitFor('w2 to start publishing', 120_000, async () => {
      const now = await store.list(`adapters/${appId}/${user}/`);
      return now.some((b) => !before.has(b.key)) ? true : undefined;
    }).catch((e) => {
      throw new Error(`${e.message}\n${w2.output()}`);
    });
    w2.kill();
    const mid = await jobRow(jobId);
    expect(mid?.status).toBe('running');
    expect(mid?.attempts).toBe(2);
    expect(await activeIsComplete()).toBe('v1');
    // generate serves the complete active version meanwhile
    expect((await generate(user)).json.adapter).toEqual({ version: 'v1' });

    // 3. A third worker finishes it.
    const w3 = startWorker('w3');
    const done = await waitFor('the job to finish', 120_000, async () => {
      const j = await jobRow(jobId);
      return j && (j.status === 'succeeded' || j.status === 'failed') ? j : undefined;
    }).catch((e) => {
      throw new Error(`${e.message}\n${w3.output()}`);
    });
    expect(done.status, `${done.error}\n${w3.output()}`).toBe('succeeded');
    expect(done.attempts).toBe(3);
    const version = await activeIsComplete();
    const result = done.result as { users: { user: string; version: string; status: string }[] };
    expect(result.users).toHaveLength(1);
    expect(version).toBe(result.users[0]?.status === 'active' ? result.users[0].version : 'v1');
    w3.kill('SIGTERM');
  }, 300_000);
});

describe('the API stopped under load', () => {
  it('streams in flight end with an event, never silence; every accepted feedback is there after the restart', async () => {
    const accepted = new Set<string>();
    let load = true;
    let n = 0;
    const feedbackLoad = Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        while (load) {
          const r = await call('POST', '/v1/feedback', {
            user: `restart-${c}`,
            text: `Told during the restart, ${n}.`,
            rating: 1,
            idempotency_key: `restart-${c}-${n++}`,
          }).catch(() => null); // refused connections while it is down: never accepted
          if (r?.status === 201) accepted.add(r.json.id);
          else await new Promise((res) => setTimeout(res, 50));
        }
      }),
    );
    const streams = Array.from({ length: 6 }, (_, i) =>
      fetch(`${server.url}/v1/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          user: `listener-${i}`,
          prompt: 'Once',
          max_tokens: 512,
          stream: true,
          seed: i,
        }),
      }).then((r) => r.text()),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await server.stop();
    const bodies = await Promise.all(streams);
    for (const body of bodies) {
      const events = parseSse(body);
      const last = events.at(-1)?.event;
      expect(['done', 'error'], body.slice(-300)).toContain(last);
      if (last === 'error') expect(events.at(-1)?.data.error.code).toBe('unavailable');
    }
    expect(bodies.some((b) => parseSse(b).at(-1)?.event === 'error')).toBe(true);

    server = await startServer(env(), { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 500));
    load = false;
    await feedbackLoad;
    const stored = await database.db.execute(sql`select id from feedback where app_id = ${appId}`);
    const ids = new Set((stored as unknown as { id: string }[]).map((r) => r.id));
    expect(accepted.size).toBeGreaterThan(10);
    for (const id of accepted) expect(ids.has(id), id).toBe(true);
  }, 120_000);
});
