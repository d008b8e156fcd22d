// The holdout experiment, end to end: with `experiment.holdout_percent` set, `auto` requests of a user with an
// active adapter are held out by a hash of their generation id (served by the base model, marked), others are
// not in it at all; GET /admin/apps/{app}/effect counts the arms' ratings and gives rates and intervals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newcombe, wilson } from '../../core/apps/effect.js';
import { armOf, fnv1a32, holdoutBucket } from '../../core/apps/experiment.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };
const admin = { key: ADMIN };
const effectPath = (q = '') => `/admin/apps/${app.app_id}/effect${q}`;
const hour = 3_600_000;
const around = () =>
  `?from=${new Date(Date.now() - hour).toISOString()}&to=${new Date(Date.now() + hour).toISOString()}`;

async function generate(body: Record<string, unknown>) {
  const r = await p.call('POST', '/v1/generate', {
    key: app.api_key,
    body: { prompt: 'Once upon a time', max_tokens: 1, temperature: 0, seed: 1, ...body },
  });
  expect(r.status, r.text).toBe(200);
  return r.json;
}

const like = (user: string, id: string, rating: 1 | -1) =>
  p.call('POST', '/v1/feedback', { key: app.api_key, body: { user, generation_id: id, rating } });

async function storedArms(user: string): Promise<Map<string, string | null>> {
  const r = await p.call('GET', `/admin/apps/${app.app_id}/generations?user=${user}&limit=200`, admin);
  expect(r.status).toBe(200);
  return new Map(r.json.items.map((g: { id: string; arm: string | null }) => [g.id, g.arm]));
}

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('effect');
  await p.activeAdapter(app.app_id, 'reader', 'v1', 3);
}, 60_000);
afterAll(() => p.close());

describe('the hash that assigns arms', () => {
  it('is FNV-1a of the generation id, mod 100', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(holdoutBucket('foobar')).toBe(0xbf9cf968 % 100);
    expect(armOf('foobar', 0xbf9cf968 % 100)).toBe('personalized');
    expect(armOf('foobar', (0xbf9cf968 % 100) + 1)).toBe('holdout');
  });
});

describe('the holdout experiment', () => {
  const gens: { id: string; arm: 'personalized' | 'holdout' }[] = [];

  it('is off at 0 %: no request is in it', async () => {
    const g = await generate({ user: 'reader' });
    expect(g.adapter).toEqual({ version: 'v1' });
    expect(g.experiment).toBeUndefined();
    expect((await storedArms('reader')).get(g.id)).toBeNull();
  });

  it('holds out auto requests by the hash of their id: the base model answers, marked, stored', async () => {
    const r = await p.call('PATCH', `/admin/apps/${app.app_id}/settings`, {
      ...admin,
      body: { experiment: { holdout_percent: 50 } },
    });
    expect(r.status).toBe(200);
    expect(r.json.settings.experiment).toEqual({ holdout_percent: 50 });
    for (let i = 0; i < 40; i++) {
      const g = await generate({ user: 'reader' });
      const arm = armOf(g.id, 50);
      expect(g.experiment).toEqual({ arm });
      expect(g.adapter).toEqual(arm === 'holdout' ? null : { version: 'v1' });
      gens.push({ id: g.id, arm });
    }
    const count = (arm: string) => gens.filter((g) => g.arm === arm).length;
    expect(count('holdout')).toBeGreaterThan(5);
    expect(count('personalized')).toBeGreaterThan(5);
    const stored = await storedArms('reader');
    for (const g of gens) expect(stored.get(g.id)).toBe(g.arm);
  });

  it('leaves out requests that name their adapter, users without one and the console', async () => {
    const none = await generate({ user: 'reader', adapter: 'none' });
    const version = await generate({ user: 'reader', adapter: { version: 'v1' } });
    const newcomer = await generate({ user: 'newcomer' });
    expect(none.adapter).toBeNull();
    expect(version.adapter).toEqual({ version: 'v1' });
    expect(newcomer.adapter).toBeNull();
    const console = await p.call('POST', `/admin/apps/${app.app_id}/generate`, {
      ...admin,
      body: { user: 'reader', prompt: 'Once', max_tokens: 1 },
    });
    expect(console.status).toBe(200);
    expect(console.json.adapter).toEqual({ version: 'v1' });
    for (const g of [none, version, newcomer, console.json]) expect(g.experiment).toBeUndefined();
    const stored = new Map([...(await storedArms('reader')), ...(await storedArms('newcomer'))]);
    for (const g of [none, version, newcomer, console.json]) expect(stored.get(g.id)).toBeNull();
  });

  it('gives each arm its counts, like-rate and Wilson interval, and the difference by Newcombe', async () => {
    const expected = { personalized: { rated: 0, likes: 0 }, holdout: { rated: 0, likes: 0 } };
    const byArm = { personalized: gens.filter((g) => g.arm === 'personalized'), holdout: [] as typeof gens };
    byArm.holdout = gens.filter((g) => g.arm === 'holdout');
    for (const arm of ['personalized', 'holdout'] as const) {
      const list = byArm[arm];
      // The last two of each arm are not rated; personalized: 3 of 4 liked; held out: 1 of 2.
      for (const [i, g] of list.slice(0, -2).entries()) {
        const liked = arm === 'personalized' ? i % 4 !== 3 : i % 2 === 0;
        if (i === 0) expect((await like('reader', g.id, liked ? -1 : 1)).status).toBe(201); // changed later
        expect((await like('reader', g.id, liked ? 1 : -1)).status).toBe(201);
        expected[arm].rated++;
        if (liked) expected[arm].likes++;
      }
    }
    // Feedback on generations outside the experiment counts for neither arm.
    const outside = await generate({ user: 'reader', adapter: 'none' });
    expect((await like('reader', outside.id, 1)).status).toBe(201);

    const r = await p.call('GET', effectPath(), admin);
    expect(r.status, r.text).toBe(200);
    expect(r.json.holdout_percent).toBe(50);
    expect(Date.parse(r.json.to) - Date.parse(r.json.from)).toBe(30 * 24 * hour);
    for (const arm of ['personalized', 'holdout'] as const) {
      const { rated, likes } = expected[arm];
      expect(r.json[arm]).toEqual({
        generations: byArm[arm].length,
        rated,
        likes,
        like_rate: likes / rated,
        ci95: wilson(likes, rated),
      });
    }
    const P = expected.personalized;
    const H = expected.holdout;
    expect(r.json.difference.like_rate).toBeCloseTo(P.likes / P.rated - H.likes / H.rated, 12);
    expect(r.json.difference.ci95).toEqual(newcombe(P.likes, P.rated, H.likes, H.rated));
    // The series: 30 days (31 with today's part), today holding everything.
    const today = new Date().toISOString().slice(0, 10);
    const series = r.json.series.personalized;
    expect(series.length).toBeGreaterThanOrEqual(30);
    expect(series.at(-1)).toEqual({
      day: today,
      rated: P.rated,
      likes: P.likes,
      like_rate: P.likes / P.rated,
    });
    expect(series.slice(0, -1).every((d: { rated: number }) => d.rated === 0)).toBe(true);
    expect(r.json.series.holdout.at(-1)).toMatchObject({ day: today, rated: H.rated, likes: H.likes });

    // A period around now gives the same; one in the past, nothing.
    const near = await p.call('GET', effectPath(around()), admin);
    expect(near.json.personalized).toEqual(r.json.personalized);
    expect(near.json.series.holdout.map((d: { day: string }) => d.day)).toContain(today);
    const past = await p.call('GET', effectPath('?from=2020-01-01T00:00:00Z&to=2020-01-03T00:00:00Z'), admin);
    expect(past.status).toBe(200);
    expect(past.json.personalized).toEqual({
      generations: 0,
      rated: 0,
      likes: 0,
      like_rate: null,
      ci95: null,
    });
    expect(past.json.difference).toBeNull();
    expect(past.json.series.holdout).toEqual([
      { day: '2020-01-01', rated: 0, likes: 0, like_rate: null },
      { day: '2020-01-02', rated: 0, likes: 0, like_rate: null },
    ]);
  });

  it('marks the OpenAI-compatible routes too (their bodies keep the OpenAI shape)', async () => {
    const before = (await p.call('GET', effectPath(around()), admin)).json;
    const r = await p.call('POST', '/v1/completions', {
      key: app.api_key,
      body: { model: p.services.baseModelId, user: 'reader', prompt: 'Once', max_tokens: 1, n: 2 },
    });
    expect(r.status, r.text).toBe(200);
    const ids: string[] = r.json.choices.map((c: { generation_id: string }) => c.generation_id);
    expect(r.json.experiment).toBeUndefined();
    const stored = await storedArms('reader');
    for (const id of ids) expect(stored.get(id)).toBe(armOf(id, 50));
    const after = (await p.call('GET', effectPath(around()), admin)).json;
    for (const arm of ['personalized', 'holdout'] as const)
      expect(after[arm].generations - before[arm].generations).toBe(
        ids.filter((id) => armOf(id, 50) === arm).length,
      );
  });

  it('holds memory out too: a held-out request is not personalized at all', async () => {
    await p.activeAdapter(app.app_id, 'keeper', 'v1', 3);
    const liked = await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user: 'keeper', text: 'The lighthouse keeper counted the gulls at dawn.', rating: 1 },
    });
    expect(liked.status, liked.text).toBe(201);
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 2; i++) {
      const g = await generate({ user: 'keeper', memory: 'auto', prompt: 'The lighthouse keeper' });
      seen.add(g.experiment.arm);
      if (g.experiment.arm === 'holdout') {
        expect(g.adapter).toBeNull();
        expect(g.memory).toBeUndefined();
      } else {
        expect(g.adapter).toEqual({ version: 'v1' });
        expect(g.memory.items).toEqual([liked.json.id]);
      }
    }
    expect(seen).toEqual(new Set(['personalized', 'holdout']));
  });

  it('refuses a bad, reversed or too long period with 400, naming the field; counts only its app', async () => {
    const counts = await p.rowCounts();
    for (const q of [
      '?from=yesterday',
      '?to=2026-13-01T00:00:00Z',
      `?from=${'9'.repeat(100)}`,
      '?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      '?from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:00Z',
      '?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z',
    ]) {
      const r = await p.call('GET', effectPath(q), admin);
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe('bad_request');
      expect(r.json.error.details.issues[0].path).toMatch(/^(from|to)$/);
    }
    expect(await p.rowCounts()).toEqual(counts);
    expect((await p.call('GET', '/admin/apps/app_nope/effect', admin)).status).toBe(404);
    const other = await p.newApp('other');
    const theirs = await p.call('GET', `/admin/apps/${other.app_id}/effect`, admin);
    expect(theirs.json.personalized.generations + theirs.json.holdout.generations).toBe(0);
    expect((await p.call('GET', effectPath(), { key: app.api_key })).status).toBe(403);
  });
});
