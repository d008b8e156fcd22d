// The scheduler reads each app's settings: its own retraining policy (minimum feedback, cool-down, manual
// schedule) over the platform's defaults, and its data retention. Real PGlite; no trainer runs here (the
// cycles only enqueue), so the jobs are read back from the queue.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob } from '../core/db/jobs.js';
import { ADMIN, startPlatform, type TestPlatform } from '../test/support/platform.js';
import { TrainingScheduler } from './scheduler.js';

let p: TestPlatform;
const admin = { key: ADMIN };

beforeAll(async () => {
  p = await startPlatform();
}, 60_000);
afterAll(() => p.close());

const scheduler = () =>
  new TrainingScheduler({
    db: p.database.db,
    baseModel: p.services.baseModelId,
    policy: { intervalS: 0, minFeedback: 5, cooldownS: 3600 },
    log: () => {},
  });

async function likes(key: string, user: string, n: number) {
  for (let i = 0; i < n; i++) {
    const r = await p.call('POST', '/v1/feedback', {
      key,
      body: { user, text: `liked passage ${i}`, rating: 1 },
    });
    expect(r.status).toBe(201);
  }
}

async function usersOf(ids: string[]) {
  const jobs = await Promise.all(ids.map((id) => getJob(p.database.db, id)));
  return jobs
    .flatMap((j) => (j ? (j.payload as { users: { userId: string }[] }).users.map((u) => u.userId) : []))
    .sort();
}

async function settle(ids: string[]) {
  // No worker runs here: mark the cycle's jobs done so the next cycle may take the same users again.
  for (const id of ids)
    await p.database.db.execute(sql`update training_jobs set status = 'failed' where id = ${id}`);
}

describe("the scheduler follows each app's settings", () => {
  it('applies an app’s own minimum feedback, and the defaults to the others', async () => {
    const eager = await p.newApp('eager');
    const plain = await p.newApp('plain');
    await p.call('PATCH', `/admin/apps/${eager.app_id}/settings`, {
      ...admin,
      body: { training: { min_feedback: 2 } },
    });
    await likes(eager.api_key, 'e-two', 2);
    await likes(plain.api_key, 'p-two', 2);
    await likes(plain.api_key, 'p-five', 5);
    const ids = await scheduler().runCycle({ wait: false });
    expect(await usersOf(ids)).toEqual(['e-two', 'p-five']);
    await settle(ids);
  });

  it('leaves an app set to a manual schedule out of scheduled cycles, not out of runs an operator starts', async () => {
    const manual = await p.newApp('manual');
    await p.call('PATCH', `/admin/apps/${manual.app_id}/settings`, {
      ...admin,
      body: { training: { schedule: 'manual', min_feedback: 1 } },
    });
    await likes(manual.api_key, 'm-one', 1);
    const s = scheduler();
    expect(await usersOf(await s.runCycle({ wait: false, scheduled: true, app: manual.app_id }))).toEqual([]);
    const scheduled = await s.runCycle({ wait: false, scheduled: true });
    expect(await usersOf(scheduled)).not.toContain('m-one');
    await settle(scheduled);
    const now = await s.runCycle({ wait: false, app: manual.app_id });
    expect(await usersOf(now)).toEqual(['m-one']);
    await settle(now);
  });

  it('honours an app’s cool-down: none set means trained again as soon as new feedback arrives', async () => {
    const fast = await p.newApp('fast');
    await p.call('PATCH', `/admin/apps/${fast.app_id}/settings`, {
      ...admin,
      body: { training: { min_feedback: 1, cooldown_s: 0 } },
    });
    await p.activeAdapter(fast.app_id, 'f-user', 'v1');
    await likes(fast.api_key, 'f-user', 1);
    const ids = await scheduler().runCycle({ wait: false, app: fast.app_id });
    expect(await usersOf(ids)).toEqual(['f-user']);
    await settle(ids);
    await p.call('PATCH', `/admin/apps/${fast.app_id}/settings`, {
      ...admin,
      body: { training: { cooldown_s: null } },
    });
    expect(await scheduler().runCycle({ wait: false, app: fast.app_id })).toEqual([]); // the default 3600 s again
  });
});

describe('retention', () => {
  it("deletes only what is older than the app's retention, only in that app", async () => {
    const brief = await p.newApp('brief');
    const keep = await p.newApp('keep');
    await likes(brief.api_key, 'b', 2);
    await likes(keep.api_key, 'k', 2);
    await p.call('POST', '/v1/generate', {
      key: brief.api_key,
      body: { user: 'b', prompt: 'x', max_tokens: 1 },
    });
    await p.database.db.execute(
      sql`update feedback set created_at = now() - interval '40 days' where user_id in ('b', 'k')`,
    );
    await p.database.db.execute(
      sql`update generations set created_at = now() - interval '10 days' where user_id = 'b'`,
    );
    await p.call('PATCH', `/admin/apps/${brief.app_id}/settings`, {
      ...admin,
      body: { retention: { feedback_days: 30, generations_days: 20 } },
    });
    const swept = await scheduler().sweepRetention();
    expect(swept.find((r) => r.app === brief.app_id)).toEqual({
      app: brief.app_id,
      generations: 0,
      feedback: 2,
    });
    const count = async (app: string, what: string) =>
      (await p.call('GET', `/admin/apps/${app}/${what}`, admin)).json.items.length;
    expect(await count(brief.app_id, 'feedback')).toBe(0);
    expect(await count(brief.app_id, 'generations')).toBe(1); // 10 days old, kept for 20
    expect(await count(keep.app_id, 'feedback')).toBe(2);
  });
});
