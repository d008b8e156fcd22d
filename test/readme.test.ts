// The README's start command as a newcomer runs it: `npm start` in a fresh copy of the repository, with no
// setting but the port (so the data dir is the relative default `.tailor`, the admin token is generated and
// printed). Over real HTTP: the API v1 contract an app relies on, then the main job — feedback, a training
// cycle through the admin API, and the user's next generation carrying the adapter.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/node/repo.js';
import { signUserToken } from '../functions/auth/jwt.js';
import { heldoutMaterial } from '../runtime/demo/readers.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { parseSse } from './support/sse.js';

/** The repository's files as a clone has them (tracked, plus new files not ignored), node_modules shared. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-readme-'));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  for (const f of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO_ROOT, f))) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(REPO_ROOT, f), join(dir, f));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  // setup.sh reinstalls when package-lock.json is newer than the install; the copy's is as old as can be.
  utimesSync(join(dir, 'package-lock.json'), 0, 0);
  return dir;
}

async function call(base: string, method: string, path: string, o: { key?: string; body?: unknown } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, type: res.headers.get('content-type') ?? '' };
}

let dir: string;
let server: RunningServer;
let admin: string;

beforeAll(async () => {
  dir = freshCopy();
  server = await startServer(
    { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir },
    { command: ['npm', 'start'], cwd: dir, exactEnv: true, timeoutMs: 180_000 },
  );
  admin = /ADMIN_TOKEN=(\S+)/.exec(server.output())?.[1] ?? '';
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm start with no settings but the port', () => {
  it('prints a generated admin token and keeps its data in .tailor of the repository', () => {
    expect(admin).toMatch(/^adm_/);
    expect(server.output()).toContain(join(dir, '.tailor', 'pglite'));
    expect(existsSync(join(dir, '.tailor', 'storage', 'models', 'brown-4m', 'model.onnx'))).toBe(true);
  });
});

describe('the API v1 contract over HTTP', () => {
  let key: string;
  let secret: string;
  let appId: string;
  let other: string;
  let genId: string;
  const fb = () => ({ user: 'reader-1', generation_id: genId, rating: 1, idempotency_key: 'contract-1' });

  beforeAll(async () => {
    const app = await call(server.url, 'POST', '/admin/apps', { key: admin, body: { name: 'contract' } });
    expect(app.status).toBe(201);
    ({ api_key: key, signing_secret: secret, app_id: appId } = app.json);
    other = (await call(server.url, 'POST', '/admin/apps', { key: admin, body: { name: 'other' } })).json
      .api_key;
  });

  it('generates for a user, the same text for the same seed, and streams it as SSE', async () => {
    const body = { user: 'reader-1', prompt: 'The night was', max_tokens: 16, seed: 7 };
    const a = await call(server.url, 'POST', '/v1/generate', { key, body });
    const b = await call(server.url, 'POST', '/v1/generate', { key, body });
    expect(a.status).toBe(200);
    expect(a.json.usage.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(a.json.usage.completion_tokens).toBeLessThanOrEqual(16);
    expect(b.json.text).toBe(a.json.text);
    genId = a.json.id;
    const sse = await call(server.url, 'POST', '/v1/generate', { key, body: { ...body, stream: true } });
    expect(sse.type).toContain('text/event-stream');
    const events = parseSse(sse.text);
    expect(events.at(-1)?.event).toBe('done');
    expect(
      events
        .filter((e) => e.event === 'token')
        .map((e) => e.data.text)
        .join(''),
    ).toBe(a.json.text);
  });

  it('stores feedback once per idempotency key', async () => {
    const f1 = await call(server.url, 'POST', '/v1/feedback', { key, body: fb() });
    const f2 = await call(server.url, 'POST', '/v1/feedback', { key, body: fb() });
    expect([f1.status, f2.status]).toEqual([201, 200]);
    expect(f2.json.id).toBe(f1.json.id);
    const t = await call(server.url, 'POST', '/v1/feedback', {
      key,
      body: { user: 'reader-1', text: 'A passage the reader liked.', rating: 1 },
    });
    expect(t.status).toBe(201);
  });

  it('scores plain English as likelier than noise', async () => {
    const texts = ['It was a dark and stormy night.', 'zq xv qqq'];
    const r = await call(server.url, 'POST', '/v1/score', { key, body: { user: 'reader-1', texts } });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(2);
    expect(r.json.results[0].tokens).toBeGreaterThan(0);
    expect(r.json.results[0].mean_nll).toBeLessThan(r.json.results[1].mean_nll);
  });

  it('acts for the user of a user token, and only for that user', async () => {
    const token = await signUserToken(
      { sub: 'reader-2', exp: Math.floor(Date.now() / 1000) + 300 },
      secret,
      appId,
    );
    const ok = await call(server.url, 'POST', '/v1/generate', {
      key: token,
      body: { prompt: 'Once', max_tokens: 4 },
    });
    expect(ok.status).toBe(200);
    const other = await call(server.url, 'POST', '/v1/generate', {
      key: token,
      body: { user: 'reader-1', prompt: 'x', max_tokens: 2 },
    });
    expect(other.status).toBe(403);
  });

  it('refuses bad input with a clear 4xx error', async () => {
    const cases: [string, Promise<{ status: number; json: any }>, number][] = [
      ['no auth', call(server.url, 'POST', '/v1/generate', { body: { user: 'u', prompt: 'x' } }), 401],
      ['missing prompt', call(server.url, 'POST', '/v1/generate', { key, body: { user: 'u' } }), 422],
      [
        'bad user id',
        call(server.url, 'POST', '/v1/generate', { key, body: { user: '../x', prompt: 'x' } }),
        422,
      ],
      [
        'rating 7',
        call(server.url, 'POST', '/v1/feedback', { key, body: { user: 'u', text: 't', rating: 7 } }),
        422,
      ],
      [
        'oversize body',
        call(server.url, 'POST', '/v1/feedback', {
          key,
          body: { user: 'u', text: 'x'.repeat(2_000_000), rating: 1 },
        }),
        413,
      ],
      [
        "another app's generation",
        call(server.url, 'POST', '/v1/feedback', {
          key: other,
          body: { user: 'reader-1', generation_id: genId, rating: 1 },
        }),
        404,
      ],
    ];
    for (const [name, res, status] of cases) {
      const r = await res;
      expect(r.status, name).toBe(status);
      expect(r.json?.error?.message, name).toEqual(expect.any(String));
    }
  });

  it('erases a user of its own app only, and everything about them', async () => {
    expect((await call(server.url, 'DELETE', '/v1/users/reader-1', { key: other })).status).toBe(204);
    const still = await call(server.url, 'POST', '/v1/feedback', { key, body: fb() });
    expect(still.status).toBe(200); // the other app's erasure left this app's reader-1 alone
    expect((await call(server.url, 'DELETE', '/v1/users/reader-1', { key })).status).toBe(204);
    const again = await call(server.url, 'POST', '/v1/feedback', { key, body: fb() });
    expect(again.status).toBe(201); // the key's earlier item went with the user
  });

  it('answers /healthz, /metrics and /openapi.json', async () => {
    for (const p of ['/healthz', '/metrics', '/openapi.json'])
      expect((await call(server.url, 'GET', p)).status, p).toBe(200);
  });
});

describe('the main job: feedback, a training cycle, the adapter in the next generation', () => {
  it('trains the reader and serves their new adapter', async () => {
    const app = await call(server.url, 'POST', '/admin/apps', { key: admin, body: { name: 'my-app' } });
    const key = app.json.api_key as string;
    const [story] = heldoutMaterial({ stories: 1 }).stories;
    if (!story) throw new Error('no held-out story');
    for (const [i, text] of story.liked.slice(0, 20).entries()) {
      const r = await call(server.url, 'POST', '/v1/feedback', {
        key,
        body: { user: 'reader', text, rating: 1, idempotency_key: `l${i}` },
      });
      expect(r.status).toBe(201);
    }
    const body = { user: 'reader', prompt: 'The detective opened the door and', max_tokens: 24, seed: 1 };
    const before = await call(server.url, 'POST', '/v1/generate', { key, body });
    expect(before.json.adapter).toBeNull();

    const run = await call(server.url, 'POST', '/admin/training/run', { key: admin, body: { wait: true } });
    expect(run.status).toBe(200);
    const [job] = run.json.jobs;
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result.users).toEqual([
      expect.objectContaining({ app: app.json.app_id, user: 'reader', status: 'active' }),
    ]);

    const after = await call(server.url, 'POST', '/v1/generate', { key, body });
    expect(after.status).toBe(200);
    expect(after.json.adapter).toEqual({ version: job.result.users[0].version });
    const info = await call(server.url, 'GET', '/v1/users/reader/adapter', { key });
    expect(info.json.version).toBe(job.result.users[0].version);
  }, 600_000);
});
