// The database suite, run once per driver (pglite.test.ts, postgres.test.ts): each driver file only
// says how to open a fresh, empty database. Tests share one migrated database and stay apart by
// creating their own app (and their own job kind), so the suite needs no cleanup between tests.

import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapters, feedback, generations, webhookDeliveries } from '../../schema/tables.js';
import {
  getActiveAdapter,
  getAdapterVersion,
  insertAdapter,
  listAdapters,
  promoteAdapter,
  rollbackAdapter,
  setAdapterOutcome,
} from './adapters.js';
import { createApiKey, createApp, findAppByApiKey, getApp, listApps, revokeApiKey } from './apps.js';
import { getBaseModel, upsertBaseModel } from './base-models.js';
import type { Database, Db } from './database.js';
import { eraseEndUser } from './erase.js';
import { erasureEpoch } from './erasures.js';
import { RepoError } from './errors.js';
import {
  countFeedbackSince,
  feedbackForTraining,
  insertFeedback,
  isUsableFeedback,
  listFeedback,
} from './feedback.js';
import { getGeneration, insertGeneration, listGenerations } from './generations.js';
import { claimJobs, completeJob, enqueueJob, failJob, getJob, heartbeatJob, listJobs } from './jobs.js';
import { migrate } from './migrate.js';
import { findDueUsers, usersWithUsableFeedback } from './training.js';
import { getEndUser, listEndUsers, touchEndUser } from './users.js';
import {
  claimWebhookDeliveries,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  finishWebhookAttempt,
  listWebhookDeliveries,
  listWebhookEndpoints,
  MAX_WEBHOOKS_PER_APP,
} from './webhooks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

async function rejectsWithCode(p: Promise<unknown>, code: RepoError['code']): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepoError);
  expect((err as RepoError).code).toBe(code);
}

const genInput = (appId: string, userId: string, text = 'Once upon a time') => ({
  appId,
  userId,
  prompt: 'Tell me',
  text,
  adapterVersion: null,
  finishReason: 'length',
  promptTokens: 3,
  completionTokens: 5,
  timingsMs: { total: 12.5 },
});

const adapterInput = (version: string) => ({
  version,
  metrics: { heldout_nll: 3.2 },
  storagePrefix: `adapters/x/${version}/`,
  baseModelId: 'brown-4m',
});

export function describeDatabase(name: string, open: () => Promise<Database>): void {
  describe(`database: ${name}`, () => {
    let database: Database;
    let db: Db;
    let firstMigrations: { applied: string[] }[];

    beforeAll(async () => {
      database = await open();
      db = database.db;
      // Two migrators at once, as when two instances start together: one applies, one waits.
      firstMigrations = await Promise.all([migrate(db), migrate(db)]);
    });
    afterAll(async () => {
      await database?.close();
    });

    describe('migrations', () => {
      it('apply once even when two run at once, and are a no-op afterwards', async () => {
        const applied = firstMigrations.map((m) => m.applied.length).sort();
        expect(applied[0]).toBe(0);
        expect(applied[1]).toBeGreaterThan(0);
        expect((await migrate(db)).applied).toEqual([]);
      });

      it('refuse a migration edited after it was applied', async () => {
        const tag = uniq('9999_test');
        await migrate(db, [{ tag, hash: 'a', statements: ['select 1'] }]);
        await expect(migrate(db, [{ tag, hash: 'b', statements: ['select 1'] }])).rejects.toThrow(/edited/);
      });
    });

    describe('apps and API keys', () => {
      it('find the app by any of its keys, not by a wrong, malformed or revoked one', async () => {
        const { app, apiKey, signingSecret } = await createApp(db, { name: 'Stories' });
        expect(apiKey).toMatch(/^tlk_[a-z0-9]{12}[A-Za-z0-9_-]{43}$/);
        expect(signingSecret.length).toBeGreaterThanOrEqual(43);
        expect((await findAppByApiKey(db, apiKey))?.id).toBe(app.id);
        expect((await getApp(db, app.id))?.signingSecret).toBe(signingSecret);

        const wrong = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
        expect(await findAppByApiKey(db, wrong)).toBeNull();
        expect(await findAppByApiKey(db, 'nonsense')).toBeNull();

        const second = await createApiKey(db, app.id);
        expect((await findAppByApiKey(db, second.key))?.id).toBe(app.id);
        expect(await revokeApiKey(db, app.id, second.row.id)).toBe(true);
        expect(await findAppByApiKey(db, second.key)).toBeNull();
        expect((await findAppByApiKey(db, apiKey))?.id).toBe(app.id);
      });

      it('list apps newest first', async () => {
        const a = await createApp(db, { name: 'a' });
        const b = await createApp(db, { name: 'b' });
        const page = await listApps(db, { limit: 2 });
        expect(page.items.map((x) => x.id)).toEqual([b.app.id, a.app.id]);
      });
    });

    describe('end users', () => {
      it('are created on first sight and touched later', async () => {
        const { app } = await createApp(db, { name: 'users' });
        const first = await touchEndUser(db, app.id, 'alice@example.com');
        await sleep(5);
        const again = await touchEndUser(db, app.id, 'alice@example.com');
        expect(again.createdAt).toEqual(first.createdAt);
        expect(again.lastSeen.getTime()).toBeGreaterThan(first.lastSeen.getTime());
        expect(await getEndUser(db, app.id, 'bob')).toBeNull();
      });

      it('page through users without gaps or repeats', async () => {
        const { app } = await createApp(db, { name: 'paging' });
        const ids = ['u1', 'u2', 'u3', 'u4', 'u5'];
        for (const u of ids) await touchEndUser(db, app.id, u);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await listEndUsers(db, app.id, { limit: 2, cursor });
          seen.push(...page.items.map((u) => u.userId));
          cursor = page.nextCursor;
          pages++;
        } while (cursor);
        expect(pages).toBe(3);
        expect(seen.sort()).toEqual(ids);
      });

      it('refuse an invalid cursor', async () => {
        const { app } = await createApp(db, { name: 'cursor' });
        await rejectsWithCode(listEndUsers(db, app.id, { cursor: '%%%' }), 'invalid_cursor');
        await rejectsWithCode(
          listFeedback(db, { appId: app.id }, { cursor: btoa('no-bar') }),
          'invalid_cursor',
        );
      });
    });

    describe('generations', () => {
      it('are found only within their app (and user)', async () => {
        const { app } = await createApp(db, { name: 'gen' });
        const other = await createApp(db, { name: 'other' });
        const gen = await insertGeneration(db, {
          ...genInput(app.id, 'alice'),
          styles: [{ id: 'mystery', weight: 0.5 }],
          params: { temperature: 0.8 },
        });
        expect(gen.id).toMatch(/^gen_/);
        const found = await getGeneration(db, { appId: app.id, id: gen.id });
        expect(found?.styles).toEqual([{ id: 'mystery', weight: 0.5 }]);
        expect(found?.timingsMs).toEqual({ total: 12.5 });
        expect(await getGeneration(db, { appId: app.id, id: gen.id, userId: 'alice' })).not.toBeNull();
        expect(await getGeneration(db, { appId: app.id, id: gen.id, userId: 'bob' })).toBeNull();
        expect(await getGeneration(db, { appId: other.app.id, id: gen.id })).toBeNull();
        const page = await listGenerations(db, { appId: app.id, userId: 'alice' });
        expect(page.items.map((g) => g.id)).toEqual([gen.id]);
      });
    });

    describe('feedback', () => {
      it('is idempotent per app and key', async () => {
        const { app } = await createApp(db, { name: 'fb' });
        const other = await createApp(db, { name: 'fb2' });
        const input = { appId: app.id, userId: 'alice', text: 'good', rating: 1, idempotencyKey: 'k1' };
        const first = await insertFeedback(db, input);
        expect(first.created).toBe(true);
        const again = await insertFeedback(db, { ...input, text: 'changed' });
        expect(again).toEqual({ created: false, feedback: first.feedback });
        expect((await insertFeedback(db, { ...input, appId: other.app.id })).created).toBe(true);
        // Without a key nothing is deduplicated.
        const noKey = { appId: app.id, userId: 'alice', text: 'x', rating: -1 };
        expect((await insertFeedback(db, noKey)).created).toBe(true);
        expect((await insertFeedback(db, noKey)).created).toBe(true);
        expect((await listFeedback(db, { appId: app.id })).items).toHaveLength(3);
      });

      it('stays single under concurrent retries with the same key', async () => {
        const { app } = await createApp(db, { name: 'fb-race' });
        const input = { appId: app.id, userId: 'u', text: 't', rating: 1, idempotencyKey: 'race' };
        const results = await Promise.all(Array.from({ length: 8 }, () => insertFeedback(db, input)));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.feedback.id)).size).toBe(1);
        const rows = await db.select().from(feedback).where(eq(feedback.appId, app.id));
        expect(rows).toHaveLength(1);
      });

      it('refuses a rating other than 1 or -1', async () => {
        const { app } = await createApp(db, { name: 'fb-rating' });
        await expect(
          insertFeedback(db, { appId: app.id, userId: 'u', text: 't', rating: 0 }),
        ).rejects.toThrow();
      });

      it('pages newest first, and counts what is new since a time', async () => {
        const { app } = await createApp(db, { name: 'fb-page' });
        const made: string[] = [];
        for (let i = 0; i < 5; i++) {
          made.push(
            (await insertFeedback(db, { appId: app.id, userId: 'u', text: `t${i}`, rating: 1 })).feedback.id,
          );
        }
        const p1 = await listFeedback(db, { appId: app.id, userId: 'u' }, { limit: 3 });
        const p2 = await listFeedback(
          db,
          { appId: app.id, userId: 'u' },
          { limit: 3, cursor: p1.nextCursor },
        );
        expect([...p1.items, ...p2.items].map((f) => f.id)).toEqual([...made].reverse());
        expect(p2.nextCursor).toBeNull();

        const all = await feedbackForTraining(db, { appId: app.id, userId: 'u' });
        expect(all.map((f) => f.text)).toEqual(['t0', 't1', 't2', 't3', 't4']);
        const since = all[1]?.createdAt ?? null;
        const newer = await feedbackForTraining(db, { appId: app.id, userId: 'u', since });
        expect(await countFeedbackSince(db, { appId: app.id, userId: 'u', since })).toBe(newer.length);
        expect(await countFeedbackSince(db, { appId: app.id, userId: 'u' })).toBe(5);
      });
    });

    describe('adapters', () => {
      it('promote flips the active version, rollback walks back', async () => {
        const { app } = await createApp(db, { name: 'ad' });
        const owner = { appId: app.id, userId: 'alice' };
        const v1 = await insertAdapter(db, owner, { ...adapterInput('v1'), status: 'candidate' });
        expect(v1.status).toBe('candidate');
        expect(await getActiveAdapter(db, owner)).toBeNull();

        const p1 = await promoteAdapter(db, owner, 'v1');
        expect(p1.active.status).toBe('active');
        expect(p1.retired).toBeNull();

        await insertAdapter(db, owner, adapterInput('v2'));
        await rejectsWithCode(promoteAdapter(db, owner, 'v2'), 'conflict'); // still training
        await setAdapterOutcome(db, owner, 'v2', { status: 'candidate', metrics: { heldout_nll: 3.0 } });
        await rejectsWithCode(setAdapterOutcome(db, owner, 'v2', { status: 'rejected' }), 'conflict');
        await rejectsWithCode(setAdapterOutcome(db, owner, 'nope', { status: 'rejected' }), 'not_found');
        const p2 = await promoteAdapter(db, owner, 'v2');
        expect(p2.active.version).toBe('v2');
        expect(p2.active.metrics).toEqual({ heldout_nll: 3.0 });
        expect(p2.retired?.version).toBe('v1');
        expect((await promoteAdapter(db, owner, 'v2')).retired).toBeNull(); // already active: no-op

        await insertAdapter(db, owner, { ...adapterInput('v3'), status: 'candidate' });
        await promoteAdapter(db, owner, 'v3');

        const r1 = await rollbackAdapter(db, owner);
        expect([r1.active.version, r1.retired?.version]).toEqual(['v2', 'v3']);
        const r2 = await rollbackAdapter(db, owner);
        expect([r2.active.version, r2.retired?.version]).toEqual(['v1', 'v2']);
        await rejectsWithCode(rollbackAdapter(db, owner), 'conflict');
        expect((await getActiveAdapter(db, owner))?.version).toBe('v1');

        await rejectsWithCode(promoteAdapter(db, owner, 'v9'), 'not_found');
        await rejectsWithCode(rollbackAdapter(db, { appId: app.id, userId: 'nobody' }), 'conflict');

        const listed = await listAdapters(db, { appId: app.id, userId: 'alice', status: 'retired' });
        expect(listed.items.map((a) => a.version).sort()).toEqual(['v2', 'v3']);
      });

      it('keep at most one active version per owner, even against concurrent promotions', async () => {
        const { app } = await createApp(db, { name: 'ad-race' });
        const owner = { appId: app.id, userId: 'bob' };
        for (const v of ['a', 'b', 'c', 'd'])
          await insertAdapter(db, owner, { ...adapterInput(v), status: 'candidate' });
        await Promise.all(['a', 'b', 'c', 'd'].map((v) => promoteAdapter(db, owner, v)));
        const active = await listAdapters(db, { appId: app.id, userId: 'bob', status: 'active' });
        expect(active.items).toHaveLength(1);

        // The partial unique index refuses a second active row written behind the repository's back.
        const other = active.items[0]?.version === 'a' ? 'b' : 'a';
        await expect(
          db
            .update(adapters)
            .set({ status: 'active' })
            .where(and(eq(adapters.appId, app.id), eq(adapters.version, other))),
        ).rejects.toThrow();
        // Versions are immutable names: the same version twice is refused.
        await expect(insertAdapter(db, owner, adapterInput('a'))).rejects.toThrow();
      });

      it('keep style adapters apart from user adapters', async () => {
        const { app } = await createApp(db, { name: 'ad-style' });
        const style = { appId: app.id, styleId: 'mystery' };
        const user = { appId: app.id, userId: 'mystery' };
        await insertAdapter(db, style, { ...adapterInput('s1'), status: 'candidate' });
        await insertAdapter(db, user, { ...adapterInput('s1'), status: 'candidate' });
        await promoteAdapter(db, style, 's1');
        expect((await getActiveAdapter(db, style))?.kind).toBe('style');
        expect(await getActiveAdapter(db, user)).toBeNull();
        expect((await getAdapterVersion(db, user, 's1'))?.kind).toBe('user');
      });
    });

    describe('erasure', () => {
      it('deletes all of one user rows in one go and returns their storage prefixes', async () => {
        const { app } = await createApp(db, { name: 'erase' });
        for (const u of ['gone', 'stays']) {
          await touchEndUser(db, app.id, u);
          const gen = await insertGeneration(db, genInput(app.id, u));
          await insertFeedback(db, { appId: app.id, userId: u, generationId: gen.id, text: 'x', rating: 1 });
          const owner = { appId: app.id, userId: u };
          await insertAdapter(db, owner, {
            ...adapterInput('v1'),
            storagePrefix: `adapters/${app.id}/${u}/v1/`,
          });
          await insertAdapter(db, owner, {
            ...adapterInput('v2'),
            storagePrefix: `adapters/${app.id}/${u}/v2/`,
          });
        }
        // A webhook endpoint: promoting each user's v1 queues an event about them.
        await createWebhookEndpoint(db, {
          appId: app.id,
          url: 'https://hooks.example/t',
          events: ['adapter.promoted'],
        });
        for (const u of ['gone', 'stays']) {
          await setAdapterOutcome(db, { appId: app.id, userId: u }, 'v1', { status: 'candidate' });
          await promoteAdapter(db, { appId: app.id, userId: u }, 'v1');
        }
        const erased = await eraseEndUser(db, app.id, 'gone', { userHash: `h-${app.id}-gone` });
        expect(erased.storagePrefixes).toEqual([
          `adapters/${app.id}/gone/v1/`,
          `adapters/${app.id}/gone/v2/`,
        ]);
        expect(erased.deleted).toEqual({
          generations: 1,
          feedback: 1,
          adapters: 2,
          endUser: true,
          webhookDeliveries: 1,
        });
        const hooks = await listWebhookDeliveries(db, app.id);
        expect(hooks.map((h) => h.userId)).toEqual(['stays']);
        expect(hooks.some((h) => h.body.includes('"gone"'))).toBe(false);
        expect(await getEndUser(db, app.id, 'gone')).toBeNull();
        expect((await listFeedback(db, { appId: app.id, userId: 'gone' })).items).toEqual([]);
        expect((await listGenerations(db, { appId: app.id, userId: 'gone' })).items).toEqual([]);
        expect((await listAdapters(db, { appId: app.id, userId: 'gone' })).items).toEqual([]);
        expect((await listFeedback(db, { appId: app.id, userId: 'stays' })).items).toHaveLength(1);
        expect(await getEndUser(db, app.id, 'stays')).not.toBeNull();

        // Feedback may still name a generation that no longer exists (soft reference).
        const [gone] = await db.select().from(generations).where(eq(generations.userId, 'gone'));
        expect(gone).toBeUndefined();
        const late = await insertFeedback(db, {
          appId: app.id,
          userId: 'gone',
          generationId: 'gen_erased',
          text: 'x',
          rating: -1,
        });
        expect(late.created).toBe(true);
        const ghost = await eraseEndUser(db, app.id, 'never-was', { userHash: `h-${app.id}-never` });
        expect(ghost.deleted.endUser).toBe(false);
        // A user with no rows is fenced by nothing (nor compacted): no epoch, no notice.
        expect(ghost.epoch).toBeNull();
        expect(erased.epoch).toBe(1);
        expect(await erasureEpoch(db, app.id, `h-${app.id}-gone`)).toBe(1);
        expect(await erasureEpoch(db, app.id, `h-${app.id}-never`)).toBe(0);
        // Erasing the id again (its late feedback) moves the epoch on; once nothing is left, nothing moves.
        expect((await eraseEndUser(db, app.id, 'gone', { userHash: `h-${app.id}-gone` })).epoch).toBe(2);
        expect((await eraseEndUser(db, app.id, 'gone', { userHash: `h-${app.id}-gone` })).epoch).toBeNull();
      });
    });

    describe('webhooks', () => {
      const worker = (id: string) => ({ workerId: id, leaseMs: 60_000, maxAttempts: 3, limit: 50 });
      /** Claims every due delivery of this app (other tests' apps may have some due too). */
      const claimOwn = async (appId: string, w = worker(uniq('w'))) =>
        (await claimWebhookDeliveries(db, w)).filter((c) => c.delivery.appId === appId);

      it('records promotions and rollbacks in the outbox, one row per subscribed endpoint', async () => {
        const { app } = await createApp(db, { name: 'hooks' });
        const both = await createWebhookEndpoint(db, {
          appId: app.id,
          url: 'https://a.example/hook',
          events: ['adapter.promoted', 'adapter.rolled_back'],
        });
        await createWebhookEndpoint(db, {
          appId: app.id,
          url: 'https://b.example/hook',
          events: ['adapter.rolled_back'],
        });
        expect(both.secret).toMatch(/^whsec_/);
        const owner = { appId: app.id, userId: 'ann' };
        for (const v of ['v1', 'v2'])
          await insertAdapter(db, owner, { ...adapterInput(v), status: 'candidate' });
        await promoteAdapter(db, owner, 'v1');
        await promoteAdapter(db, owner, 'v2');
        await promoteAdapter(db, owner, 'v2'); // already active: nothing changes, nothing recorded
        await rollbackAdapter(db, owner);
        const style = { appId: app.id, styleId: 'noir' };
        await insertAdapter(db, style, { ...adapterInput('s1'), status: 'candidate' });
        await promoteAdapter(db, style, 's1');
        // Rows of one millisecond have no order: compare them as sets.
        const rows = await listWebhookDeliveries(db, app.id);
        const seen = rows.map((r) => {
          const body = JSON.parse(r.body);
          const who = body.data.user ?? `style:${body.data.style}`;
          const to = r.endpointId === both.id ? 'both' : 'rb';
          return `${to} ${r.event} ${who} ${body.data.previous_version}->${body.data.version} ${r.userId}`;
        });
        expect(seen.sort()).toEqual(
          [
            'both adapter.promoted ann null->v1 ann',
            'both adapter.promoted ann v1->v2 ann',
            'both adapter.rolled_back ann v2->v1 ann',
            'rb adapter.rolled_back ann v2->v1 ann',
            'both adapter.promoted style:noir null->s1 null',
          ].sort(),
        );
        const rolled = rows.filter((r) => r.event === 'adapter.rolled_back').map((r) => JSON.parse(r.body));
        expect(rolled[0].id).toBe(rolled[1].id); // one event, two endpoints
        expect(rolled[0]).toMatchObject({ type: 'adapter.rolled_back', app_id: app.id });
        expect(rolled[0].id).toMatch(/^evt_/);
        expect(Number.isNaN(Date.parse(rolled[0].created_at))).toBe(false);
        expect(rows.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
      });

      it('refuses more than the most endpoints per app; deleting one takes its deliveries', async () => {
        const { app } = await createApp(db, { name: 'hooks-max' });
        const made = await Promise.allSettled(
          Array.from({ length: MAX_WEBHOOKS_PER_APP + 2 }, (_, i) =>
            createWebhookEndpoint(db, {
              appId: app.id,
              url: `https://h.example/${i}`,
              events: ['adapter.promoted'],
            }),
          ),
        );
        expect(made.filter((m) => m.status === 'fulfilled')).toHaveLength(MAX_WEBHOOKS_PER_APP);
        const refused = made.find((m) => m.status === 'rejected') as PromiseRejectedResult;
        expect((refused.reason as RepoError).code).toBe('conflict');
        const [first] = await listWebhookEndpoints(db, app.id);
        const owner = { appId: app.id, userId: 'max' };
        await insertAdapter(db, owner, { ...adapterInput('v1'), status: 'candidate' });
        await promoteAdapter(db, owner, 'v1');
        expect(await listWebhookDeliveries(db, app.id, { limit: 200 })).toHaveLength(MAX_WEBHOOKS_PER_APP);
        const other = await createApp(db, { name: 'hooks-other' });
        expect(await deleteWebhookEndpoint(db, other.app.id, first?.id as string)).toBe(false);
        expect(await deleteWebhookEndpoint(db, app.id, first?.id as string)).toBe(true);
        expect(await listWebhookDeliveries(db, app.id, { limit: 200 })).toHaveLength(
          MAX_WEBHOOKS_PER_APP - 1,
        );
      });

      it('claims each attempt once, however many deliverers ask at once; retries when due; fails after the last', async () => {
        const { app } = await createApp(db, { name: 'hooks-claim' });
        await createWebhookEndpoint(db, {
          appId: app.id,
          url: 'https://c.example/hook',
          events: ['adapter.promoted'],
        });
        const owner = { appId: app.id, userId: 'cat' };
        for (const v of ['a', 'b', 'c', 'd']) {
          await insertAdapter(db, owner, { ...adapterInput(v), status: 'candidate' });
          await promoteAdapter(db, owner, v);
        }
        const claims = await Promise.all(['w1', 'w2', 'w3'].map((w) => claimOwn(app.id, worker(uniq(w)))));
        const ids = claims.flat().map((c) => c.delivery.id);
        expect(ids).toHaveLength(4);
        expect(new Set(ids).size).toBe(4);
        expect(
          claims.flat().every((c) => c.url === 'https://c.example/hook' && c.delivery.attempts === 1),
        ).toBe(true);
        expect(await claimOwn(app.id)).toEqual([]); // all held

        const [one, two, three, four] = claims.flat();
        const holder = (c: typeof one) => c?.delivery.lockedBy as string;
        expect(
          await finishWebhookAttempt(db, one?.delivery.id as string, 'not-the-holder', {
            ok: true,
            status: 200,
          }),
        ).toBe(false);
        expect(
          await finishWebhookAttempt(db, one?.delivery.id as string, holder(one), { ok: true, status: 204 }),
        ).toBe(true);
        // Failed, due again at once: claimed again, with its attempt counted.
        await finishWebhookAttempt(db, two?.delivery.id as string, holder(two), {
          ok: false,
          status: 500,
          error: 'HTTP 500',
          retryInMs: 0,
        });
        // Failed, due in an hour: not claimed now.
        await finishWebhookAttempt(db, three?.delivery.id as string, holder(three), {
          ok: false,
          status: null,
          error: 'timed out',
          retryInMs: 3_600_000,
        });
        // The last attempt failed.
        await finishWebhookAttempt(db, four?.delivery.id as string, holder(four), {
          ok: false,
          status: 410,
          error: 'HTTP 410',
          retryInMs: null,
        });
        const again = await claimOwn(app.id);
        expect(again.map((c) => [c.delivery.id, c.delivery.attempts])).toEqual([[two?.delivery.id, 2]]);
        const byId = new Map((await listWebhookDeliveries(db, app.id)).map((r) => [r.id, r]));
        expect(byId.get(one?.delivery.id as string)).toMatchObject({ status: 'delivered', lastStatus: 204 });
        expect(byId.get(one?.delivery.id as string)?.deliveredAt).toBeInstanceOf(Date);
        expect(byId.get(three?.delivery.id as string)).toMatchObject({
          status: 'pending',
          lastError: 'timed out',
        });
        expect(byId.get(four?.delivery.id as string)).toMatchObject({ status: 'failed', lastStatus: 410 });
      });

      it('claims again a delivery whose deliverer died, and fails it when that was its last attempt', async () => {
        const { app } = await createApp(db, { name: 'hooks-lease' });
        await createWebhookEndpoint(db, {
          appId: app.id,
          url: 'https://d.example/hook',
          events: ['adapter.promoted'],
        });
        const owner = { appId: app.id, userId: 'dan' };
        await insertAdapter(db, owner, { ...adapterInput('v1'), status: 'candidate' });
        await promoteAdapter(db, owner, 'v1');
        const short = { ...worker('dies'), leaseMs: 50, maxAttempts: 2 };
        expect(await claimOwn(app.id, short)).toHaveLength(1);
        await sleep(120);
        const second = await claimOwn(app.id, { ...short, workerId: 'dies-too' });
        expect(second.map((c) => c.delivery.attempts)).toEqual([2]);
        await sleep(120);
        expect(await claimOwn(app.id, { ...short, workerId: 'late' })).toEqual([]);
        const [row] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.appId, app.id));
        expect(row).toMatchObject({ status: 'failed', attempts: 2, lockedBy: null });
      });
    });

    describe('job queue', () => {
      it('runs a job from queued through running to succeeded', async () => {
        const kind = uniq('train');
        const job = await enqueueJob(db, { kind, payload: { users: ['a'] } });
        expect(job.status).toBe('queued');
        const [claimed, ...more] = await claimJobs(db, { workerId: 'w1', leaseSeconds: 60, kinds: [kind] });
        expect(more).toEqual([]);
        expect(claimed).toMatchObject({ id: job.id, status: 'running', lockedBy: 'w1', attempts: 1 });
        expect(claimed?.startedAt).toBeInstanceOf(Date);
        expect(await claimJobs(db, { workerId: 'w2', leaseSeconds: 60, kinds: [kind] })).toEqual([]);

        expect(
          await heartbeatJob(db, {
            id: job.id,
            workerId: 'w1',
            leaseSeconds: 60,
            progress: { step: 3 },
            log: 'a\n',
          }),
        ).toBe(true);
        await heartbeatJob(db, { id: job.id, workerId: 'w1', leaseSeconds: 60, log: 'b\n' });
        expect(await heartbeatJob(db, { id: job.id, workerId: 'w2', leaseSeconds: 60 })).toBe(false);
        expect(await completeJob(db, { id: job.id, workerId: 'w2' })).toBeNull();

        const done = await completeJob(db, { id: job.id, workerId: 'w1', result: { promoted: 1 } });
        expect(done).toMatchObject({ status: 'succeeded', progress: { step: 3 }, log: 'a\nb\n' });
        expect(done?.result).toEqual({ promoted: 1 });
        expect(done?.lockedBy).toBeNull();
        expect(done?.finishedAt).toBeInstanceOf(Date);
      });

      it('hands each job to one worker when workers claim at once (SKIP LOCKED)', async () => {
        const kind = uniq('train');
        for (let i = 0; i < 6; i++) await enqueueJob(db, { kind });
        const claims = await Promise.all(
          ['w1', 'w2', 'w3'].map((w) =>
            claimJobs(db, { workerId: w, leaseSeconds: 60, kinds: [kind], limit: 2 }),
          ),
        );
        const ids = claims.flat().map((j) => j.id);
        expect(ids).toHaveLength(6);
        expect(new Set(ids).size).toBe(6);
      });

      it('retries a failed job after its delay, then fails it for good', async () => {
        const kind = uniq('train');
        const job = await enqueueJob(db, { kind, maxAttempts: 2 });
        await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind] });
        const failed1 = await failJob(db, { id: job.id, workerId: 'w', error: 'cuda oom' });
        expect(failed1).toMatchObject({ status: 'queued', error: 'cuda oom', attempts: 1, lockedBy: null });
        expect(await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind] })).toEqual([]); // backoff
        await db.execute(sql`update training_jobs set run_after = now() where id = ${job.id}`);
        const [again] = await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind] });
        expect(again?.attempts).toBe(2);
        const failed2 = await failJob(db, { id: job.id, workerId: 'w', error: 'cuda oom again' });
        expect(failed2).toMatchObject({ status: 'failed', attempts: 2 });
        expect(failed2?.finishedAt).toBeInstanceOf(Date);
        expect(await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind] })).toEqual([]);
      });

      it('fails a job at once on an error marked not retryable', async () => {
        const kind = uniq('train');
        const job = await enqueueJob(db, { kind, maxAttempts: 5 });
        await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind] });
        const failed = await failJob(db, {
          id: job.id,
          workerId: 'w',
          error: 'bad payload',
          retryable: false,
        });
        expect(failed?.status).toBe('failed');
      });

      it('takes back a job whose lease expired, until attempts run out', async () => {
        const kind = uniq('train');
        const job = await enqueueJob(db, { kind, maxAttempts: 2 });
        await claimJobs(db, { workerId: 'dead', leaseSeconds: 0.05, kinds: [kind] });
        await sleep(120);
        const [retaken] = await claimJobs(db, { workerId: 'alive', leaseSeconds: 0.05, kinds: [kind] });
        expect(retaken).toMatchObject({ id: job.id, lockedBy: 'alive', attempts: 2 });
        // The dead worker lost its lease: its late report is ignored.
        expect(await completeJob(db, { id: job.id, workerId: 'dead' })).toBeNull();
        await sleep(120);
        expect(await claimJobs(db, { workerId: 'third', leaseSeconds: 60, kinds: [kind] })).toEqual([]);
        expect(await getJob(db, job.id)).toMatchObject({ status: 'failed', lockedBy: null });
      });

      it('waits for a delayed job, and lists jobs by app and status', async () => {
        const { app } = await createApp(db, { name: 'jobs' });
        const kind = uniq('train');
        await enqueueJob(db, { kind, appId: app.id, delaySeconds: 3600 });
        await enqueueJob(db, { kind, appId: app.id });
        const claimed = await claimJobs(db, { workerId: 'w', leaseSeconds: 60, kinds: [kind], limit: 5 });
        expect(claimed).toHaveLength(1);
        expect((await listJobs(db, { appId: app.id })).items).toHaveLength(2);
        expect((await listJobs(db, { appId: app.id, status: 'running' })).items.map((j) => j.id)).toEqual([
          claimed[0]?.id,
        ]);
      });
    });

    describe('training policy', () => {
      it('counts as usable exactly the feedback the dataset rule trains on (one rule, SQL and predicate)', async () => {
        const { app } = await createApp(db, { name: 'usable' });
        const combos = [
          { userId: 'like', rating: 1, editedText: null },
          { userId: 'like-edit', rating: 1, editedText: 'mine' },
          { userId: 'dislike', rating: -1, editedText: null },
          { userId: 'dislike-edit', rating: -1, editedText: 'better' },
        ] as const;
        for (const c of combos) await insertFeedback(db, { appId: app.id, text: 't', ...c });
        const sql = await usersWithUsableFeedback(db, {
          appId: app.id,
          userIds: combos.map((c) => c.userId),
        });
        expect(sql.map((u) => u.userId).sort()).toEqual(
          combos
            .filter(isUsableFeedback)
            .map((c) => c.userId)
            .sort(),
        );
        expect(sql).toHaveLength(3);
      });

      it('finds users with enough new feedback outside the cool-down', async () => {
        const { app } = await createApp(db, { name: 'due' });
        const add = async (u: string, n: number) => {
          for (let i = 0; i < n; i++)
            await insertFeedback(db, { appId: app.id, userId: u, text: 't', rating: 1 });
        };
        await add('many', 3);
        await add('few', 1);
        await add('trained', 3);
        const trained = { appId: app.id, userId: 'trained' };
        const [last] = await feedbackForTraining(db, { appId: app.id, userId: 'trained' }).then((f) =>
          f.slice(-1),
        );
        await insertAdapter(db, trained, {
          ...adapterInput('t1'),
          status: 'candidate',
          dataUntil: last?.createdAt,
        });
        await promoteAdapter(db, trained, 't1');

        const due = await findDueUsers(db, { appId: app.id, minFeedback: 2, cooldownSeconds: 0 });
        expect(due).toEqual([{ appId: app.id, userId: 'many', newFeedback: 3 }]);

        await add('trained', 2);
        const after = await findDueUsers(db, { appId: app.id, minFeedback: 2, cooldownSeconds: 0 });
        expect(after.map((d) => d.userId).sort()).toEqual(['many', 'trained']);
        const cooling = await findDueUsers(db, { appId: app.id, minFeedback: 2, cooldownSeconds: 3600 });
        expect(cooling.map((d) => d.userId)).toEqual(['many']);
        const only = await findDueUsers(db, {
          appId: app.id,
          minFeedback: 2,
          cooldownSeconds: 0,
          userIds: ['few'],
        });
        expect(only).toEqual([]);
      });
    });

    describe('base models', () => {
      it('upsert and read back', async () => {
        const id = uniq('model');
        await upsertBaseModel(db, { id, storagePrefix: `models/${id}/`, hash: 'h1', config: { n_layer: 4 } });
        const again = await upsertBaseModel(db, {
          id,
          storagePrefix: `models/${id}/`,
          hash: 'h2',
          config: {},
        });
        expect(again.hash).toBe('h2');
        expect((await getBaseModel(db, id))?.hash).toBe('h2');
        expect(await getBaseModel(db, uniq('none'))).toBeNull();
      });
    });
  });
}
