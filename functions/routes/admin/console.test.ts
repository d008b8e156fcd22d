// The admin routes the console needs: app summaries, keys and signing secrets, users (search, detail,
// erasure), scoring and streamed generation as any user, styles, the overview's series, the model card and
// the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startPlatform, type TestPlatform } from '../../../test/support/platform.js';
import { signUserToken } from '../../auth/jwt.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string; signing_secret: string };
const admin = { key: ADMIN };
const exp = () => Math.floor(Date.now() / 1000) + 300;

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('console-routes');
}, 60_000);
afterAll(() => p.close());

describe('apps and keys', () => {
  it("lists apps with their users and last week's volume", async () => {
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'vol', text: 'nice', rating: 1 },
    });
    await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'vol', prompt: 'x', max_tokens: 1 },
    });
    const r = await p.call('GET', '/admin/apps', admin);
    const mine = r.json.items.find((a: { id: string }) => a.id === app.app_id);
    expect(mine).toMatchObject({ users: 1, generations_7d: 1, feedback_7d: 1 });
  });

  it('adds a key that works, revokes it, and refuses it after', async () => {
    const made = await p.call('POST', `/admin/apps/${app.app_id}/keys`, admin);
    expect(made.status).toBe(201);
    const body = { user: 'k', prompt: 'x', max_tokens: 1 };
    expect((await p.call('POST', '/v1/generate', { key: made.json.api_key, body })).status).toBe(200);
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/keys`, admin);
    expect(listed.json.items).toHaveLength(2);
    expect(JSON.stringify(listed.json)).not.toContain(made.json.api_key);
    const revoked = await p.call('DELETE', `/admin/apps/${app.app_id}/keys/${made.json.key.id}`, admin);
    expect(revoked.status).toBe(200);
    expect(revoked.json.revoked_at).not.toBeNull();
    expect((await p.call('POST', '/v1/generate', { key: made.json.api_key, body })).status).toBe(401);
    expect((await p.call('DELETE', `/admin/apps/${app.app_id}/keys/${made.json.key.id}`, admin)).status).toBe(
      404,
    );
  });

  it('rotates the signing secret: old tokens work through the overlap, new ones carry the new kid', async () => {
    const other = await p.newApp('rotating');
    const old = await signUserToken({ sub: 'r', exp: exp() }, other.signing_secret, other.app_id);
    const rotated = await p.call('POST', `/admin/apps/${other.app_id}/signing-secrets/rotate`, {
      ...admin,
      body: { overlap_s: 3600 },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.json.kid).toMatch(/^sks_/);
    expect(rotated.json.retiring).toHaveLength(1);
    const fresh = await signUserToken(
      { sub: 'r', exp: exp() },
      rotated.json.signing_secret,
      rotated.json.kid,
    );
    const gen = (token: string) =>
      p.call('POST', '/v1/generate', { key: token, body: { prompt: 'x', max_tokens: 1 } });
    expect((await gen(old)).status).toBe(200);
    expect((await gen(fresh)).status).toBe(200);
    // A rotation with no overlap retires the secrets in use at once.
    const again = await p.call('POST', `/admin/apps/${other.app_id}/signing-secrets/rotate`, {
      ...admin,
      body: { overlap_s: 0 },
    });
    expect((await gen(old)).status).toBe(401);
    expect((await gen(fresh)).status).toBe(401);
    const newest = await signUserToken({ sub: 'r', exp: exp() }, again.json.signing_secret, again.json.kid);
    expect((await gen(newest)).status).toBe(200);
    const secrets = await p.call('GET', `/admin/apps/${other.app_id}/signing-secrets`, admin);
    expect(secrets.json.items.map((x: { retires_at: string | null }) => x.retires_at === null)).toEqual([
      false,
      false,
      true,
    ]);
    expect(JSON.stringify(secrets.json)).not.toContain(again.json.signing_secret);
  });

  it('refuses a bad overlap and changes nothing', async () => {
    const r = await p.call('POST', `/admin/apps/${app.app_id}/signing-secrets/rotate`, {
      ...admin,
      body: { overlap_s: -1 },
    });
    expect(r.status).toBe(422);
    const secrets = await p.call('GET', `/admin/apps/${app.app_id}/signing-secrets`, admin);
    expect(secrets.json.items).toHaveLength(1);
  });
});

describe('users', () => {
  it('finds users by the start of their id and shows what one did and has', async () => {
    for (const u of ['anna', 'anne', 'bob']) {
      await p.call('POST', '/v1/feedback', { key: app.api_key, body: { user: u, text: 'ok', rating: 1 } });
    }
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'anna', text: 'meh', rating: -1, edited_text: 'better' },
    });
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'anna', text: 'no', rating: -1 },
    });
    const found = await p.call('GET', `/admin/apps/${app.app_id}/users?q=ann`, admin);
    expect(found.json.items.map((u: { user: string }) => u.user).sort()).toEqual(['anna', 'anne']);
    const literal = await p.call('GET', `/admin/apps/${app.app_id}/users?q=a_n`, admin);
    expect(literal.json.items).toEqual([]);
    await p.activeAdapter(app.app_id, 'anna', 'v1');
    const detail = await p.call('GET', `/admin/apps/${app.app_id}/users/anna`, admin);
    expect(detail.json).toMatchObject({
      user: 'anna',
      active_version: 'v1',
      feedback: { likes: 1, dislikes: 1, edits: 1 },
      versions: 1,
    });
    expect((await p.call('GET', `/admin/apps/${app.app_id}/users/nobody`, admin)).status).toBe(404);
  });

  it('erases a user by an operator, and the audit log says so', async () => {
    await p.call('POST', '/v1/feedback', { key: app.api_key, body: { user: 'gone', text: 'x', rating: 1 } });
    const r = await p.call('DELETE', `/admin/apps/${app.app_id}/users/gone`, admin);
    expect(r.status).toBe(204);
    expect((await p.call('GET', `/admin/apps/${app.app_id}/users/gone`, admin)).status).toBe(404);
    const log = await p.call('GET', `/admin/audit?app=${app.app_id}&action=user.erased`, admin);
    expect(log.json.items[0]).toMatchObject({ actor: 'admin', action: 'user.erased', subject: 'gone' });
  });
});

describe('playground', () => {
  it('streams a generation as any user and scores texts under a chosen version', async () => {
    await p.activeAdapter(app.app_id, 'play', 'v1', 5);
    const res = await p.app.request(`http://localhost/admin/apps/${app.app_id}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'play', prompt: 'The door', max_tokens: 4, seed: 7, stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await res.text();
    expect(events).toContain('event: token');
    const done = JSON.parse(events.split('event: done\ndata: ')[1]?.split('\n')[0] ?? '{}');
    expect(done.adapter).toEqual({ version: 'v1' });
    const scored = (adapter: unknown) =>
      p.call('POST', `/admin/apps/${app.app_id}/score`, {
        ...admin,
        body: { user: 'play', texts: ['It opened slowly.'], context: 'The door', adapter },
      });
    const [withV1, base] = [await scored({ version: 'v1' }), await scored('none')];
    expect(withV1.json.adapter).toEqual({ version: 'v1' });
    expect(base.json.adapter).toBeNull();
    expect(withV1.json.results[0].nll).not.toBeCloseTo(base.json.results[0].nll, 4);
    expect(
      (await p.call('POST', `/admin/apps/${app.app_id}/score`, { ...admin, body: { texts: ['x'] } })).status,
    ).toBe(422);
  });
});

describe('overview, model and audit', () => {
  it("counts the hour's generations, feedback by kind and active users", async () => {
    const fresh = await p.newApp('overview');
    const key = { key: fresh.api_key };
    await p.call('POST', '/v1/feedback', { ...key, body: { user: 'a', text: 'x', rating: 1 } });
    await p.call('POST', '/v1/feedback', { ...key, body: { user: 'b', text: 'x', rating: -1 } });
    await p.call('POST', '/v1/feedback', {
      ...key,
      body: { user: 'b', text: 'x', rating: -1, edited_text: 'y' },
    });
    await p.call('POST', '/v1/generate', { ...key, body: { user: 'c', prompt: 'x', max_tokens: 3 } });
    const r = await p.call('GET', `/admin/overview?app=${fresh.app_id}&range=24h`, admin);
    expect(r.json.bucket).toBe('hour');
    expect(r.json.activity.length).toBeGreaterThanOrEqual(24);
    const sum = (k: string) =>
      r.json.activity.reduce((n: number, a: Record<string, number>) => n + (a[k] ?? 0), 0);
    expect([sum('generations'), sum('likes'), sum('dislikes'), sum('edits'), sum('active_users')]).toEqual([
      1, 1, 1, 1, 3,
    ]);
    const last = r.json.activity.at(-1);
    expect(last.tokens_per_s).toBeGreaterThan(0);
    expect(r.json.engine.adapter_cache.max_bytes).toBeGreaterThan(0);
    const month = await p.call('GET', `/admin/overview?app=${fresh.app_id}&range=30d`, admin);
    expect(month.json.bucket).toBe('day');
    expect((await p.call('GET', '/admin/overview?range=1y', admin)).status).toBe(422);
    expect((await p.call('GET', '/admin/overview?app=app_nope', admin)).status).toBe(404);
  });

  it('shows the base model card with its perplexity per genre and its loss curve', async () => {
    const r = await p.call('GET', '/admin/model', admin);
    expect(r.status).toBe(200);
    expect(r.json.architecture.layers).toBeGreaterThan(0);
    expect(r.json.lora.targets).toContain('q_proj');
    expect(r.json.perplexity[0].split).toBe('all');
  });

  it('records who did what, filterable by app and action', async () => {
    const made = await p.newApp('audited');
    await p.call('PATCH', `/admin/apps/${made.app_id}/settings`, {
      ...admin,
      body: { training: { min_feedback: 7 } },
    });
    const all = await p.call('GET', `/admin/audit?app=${made.app_id}`, admin);
    expect(all.json.items.map((e: { action: string }) => e.action)).toEqual([
      'settings.changed',
      'app.created',
    ]);
    const one = await p.call('GET', `/admin/audit?app=${made.app_id}&action=app.created`, admin);
    expect(one.json.items).toHaveLength(1);
    expect(one.json.items[0].details).toEqual({ name: 'audited' });
  });

  it('lists styles with their versions', async () => {
    const r = await p.call('GET', `/admin/apps/${app.app_id}/styles`, admin);
    expect(r.status).toBe(200);
    expect(r.json.items).toEqual([]);
  });
});

describe('the console page', () => {
  it('serves index.html with a strict CSP, hashed files for a year, and nothing outside the build', async () => {
    const root = await p.app.request('http://localhost/console');
    expect(root.status).toBe(301);
    expect(root.headers.get('location')).toBe('/console/');
    // npm test builds the console first (scripts/build-console.sh), as npm start does.
    const page = await p.app.request('http://localhost/console/');
    expect(page.status, await page.clone().text()).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /src="\/console\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await p.app.request(`http://localhost/console/${script}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
    for (const bad of [
      'assets/../../package.json',
      'assets/%2e%2e%2fpackage.json',
      'other.html',
      'assets/nope.js',
    ])
      expect((await p.app.request(`http://localhost/console/${bad}`)).status, bad).toBe(404);
  });
});
