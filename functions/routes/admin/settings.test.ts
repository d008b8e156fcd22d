// An app's settings: read and changed through the admin API (merge patches, defaults underneath), and in force
// at once: rate limits, the default adapter, the browser origins allowed to call /v1/*.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startPlatform, type TestPlatform } from '../../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };
const admin = { key: ADMIN };
const settingsPath = () => `/admin/apps/${app.app_id}/settings`;

beforeAll(async () => {
  p = await startPlatform({
    RATE_LIMIT_PER_MINUTE: '600',
    RATE_LIMIT_PER_USER_PER_MINUTE: '60',
    TRAIN_MIN_FEEDBACK: '8',
  });
  app = await p.newApp('settings');
}, 60_000);
afterAll(() => p.close());

describe('GET and PATCH /admin/apps/{app}/settings', () => {
  it("starts from the platform's defaults, with nothing of the app's own", async () => {
    const r = await p.call('GET', settingsPath(), admin);
    expect(r.status).toBe(200);
    expect(r.json.overrides).toEqual({});
    expect(r.json.updated_at).toBeNull();
    expect(r.json.settings).toEqual({
      training: { schedule: 'auto', min_feedback: 8, cooldown_s: 3600 },
      rate_limits: { per_minute: 600, per_user_per_minute: 60 },
      retention: { generations_days: 0, feedback_days: 0 },
      cors: { allowed_origins: [] },
      defaults: { adapter: 'auto', memory: 'none' },
      model: { base: 'brown-4m' },
      experiment: { holdout_percent: 0 },
    });
    expect(r.json.defaults).toEqual(r.json.settings);
  });

  it('merges a patch field by field, and null puts a field (or a section) back to its default', async () => {
    const a = await p.call('PATCH', settingsPath(), {
      ...admin,
      body: { training: { min_feedback: 3 }, retention: { feedback_days: 90 } },
    });
    expect(a.status).toBe(200);
    expect(a.json.settings.training).toEqual({ schedule: 'auto', min_feedback: 3, cooldown_s: 3600 });
    expect(a.json.overrides).toEqual({ training: { min_feedback: 3 }, retention: { feedback_days: 90 } });
    const b = await p.call('PATCH', settingsPath(), { ...admin, body: { training: { cooldown_s: 60 } } });
    expect(b.json.overrides.training).toEqual({ min_feedback: 3, cooldown_s: 60 });
    const c = await p.call('PATCH', settingsPath(), {
      ...admin,
      body: { training: { min_feedback: null }, retention: null },
    });
    expect(c.json.overrides).toEqual({ training: { cooldown_s: 60 } });
    expect(c.json.settings.training.min_feedback).toBe(8);
    expect((await p.call('GET', settingsPath(), admin)).json).toEqual(c.json);
    expect(c.json.updated_at).toEqual(expect.any(String));
  });

  it('refuses an invalid change with 422 naming the field, and changes nothing', async () => {
    const before = (await p.call('GET', settingsPath(), admin)).json;
    for (const body of [
      { training: { min_feedback: 0 } },
      { rate_limits: { per_minute: -1 } },
      { cors: { allowed_origins: ['https://ok.example', 'not an origin'] } },
      { defaults: { adapter: 'latest' } },
      { experiment: { holdout_percent: 51 } },
      { training: { surprise: true } },
      { unknown_section: {} },
    ]) {
      const r = await p.call('PATCH', settingsPath(), { ...admin, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.json.error.details.issues[0].path).toEqual(expect.any(String));
    }
    expect((await p.call('GET', settingsPath(), admin)).json).toEqual(before);
  });

  it('answers 404 for an app that does not exist, and 403 without the admin token', async () => {
    expect((await p.call('GET', '/admin/apps/app_nope/settings', admin)).status).toBe(404);
    expect((await p.call('PATCH', '/admin/apps/app_nope/settings', { ...admin, body: {} })).status).toBe(404);
    expect((await p.call('GET', settingsPath(), { key: app.api_key })).status).toBe(403);
  });
});

describe('settings in force', () => {
  it("limits each user and each key to the app's own rates", async () => {
    const other = await p.newApp('strict');
    await p.call('PATCH', `/admin/apps/${other.app_id}/settings`, {
      ...admin,
      body: { rate_limits: { per_user_per_minute: 2, per_minute: 3 } },
    });
    const score = (user: string) =>
      p.call('POST', '/v1/score', { key: other.api_key, body: { user, texts: ['x'] } });
    expect([(await score('a')).status, (await score('a')).status, (await score('a')).status]).toEqual([
      200, 200, 429,
    ]);
    expect((await score('b')).status).toBe(200); // a's refused request cost the key nothing
    const keyRefused = await score('c');
    expect(keyRefused.status).toBe(429);
    expect(keyRefused.json.error.message).toMatch(/per API key/);
    // the app that set nothing keeps the platform's limits
    for (let i = 0; i < 5; i++)
      expect(
        (await p.call('POST', '/v1/score', { key: app.api_key, body: { user: 'a', texts: ['x'] } })).status,
      ).toBe(200);
  });

  it("serves the base model to requests that name no adapter when the app's default is none", async () => {
    const quiet = await p.newApp('quiet');
    await p.activeAdapter(quiet.app_id, 'reader', 'v1');
    const body = { user: 'reader', prompt: 'The night', max_tokens: 4, temperature: 0 };
    expect((await p.call('POST', '/v1/generate', { key: quiet.api_key, body })).json.adapter).toEqual({
      version: 'v1',
    });
    await p.call('PATCH', `/admin/apps/${quiet.app_id}/settings`, {
      ...admin,
      body: { defaults: { adapter: 'none' } },
    });
    expect((await p.call('POST', '/v1/generate', { key: quiet.api_key, body })).json.adapter).toBeNull();
    const asked = await p.call('POST', '/v1/generate', {
      key: quiet.api_key,
      body: { ...body, adapter: 'auto' },
    });
    expect(asked.json.adapter).toEqual({ version: 'v1' });
    const scored = await p.call('POST', '/v1/score', {
      key: quiet.api_key,
      body: { user: 'reader', texts: ['x'] },
    });
    expect(scored.json.adapter).toBeNull();
  });

  it('lets only the origins an app allows call /v1/* from a browser', async () => {
    const web = await p.newApp('web');
    await p.call('PATCH', `/admin/apps/${web.app_id}/settings`, {
      ...admin,
      body: { cors: { allowed_origins: ['https://reader.example'] } },
    });
    const preflight = (origin: string) =>
      p.call('OPTIONS', '/v1/generate', {
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
    const ok = await preflight('https://reader.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://reader.example');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    const body = { user: 'u', texts: ['x'] };
    const fromReader = await p.call('POST', '/v1/score', {
      key: web.api_key,
      body,
      headers: { origin: 'https://reader.example' },
    });
    expect(fromReader.headers.get('access-control-allow-origin')).toBe('https://reader.example');
    // another app's key from the same page is refused before anything runs: that app does not allow the page
    const before = await p.rowCounts();
    const otherApp = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'u-from-page', prompt: 'x', max_tokens: 1 },
      headers: { origin: 'https://reader.example' },
    });
    expect(otherApp.status).toBe(403);
    expect(otherApp.json.error.code).toBe('origin_not_allowed');
    expect(otherApp.headers.get('access-control-allow-origin')).toBeNull();
    expect(await p.rowCounts()).toEqual(before);
  });
});
