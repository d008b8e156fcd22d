// DELETE /v1/users/{user} under attack: an erase storm of users that never existed costs what they own
// (nothing: no table rewritten, no fence, no notice), erasures count against the rate limits, and a user named
// like the operator's records (a signing secret's kid, a style) erases only what is theirs.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compactor } from '../../core/db/compaction.js';
import { randomAdapter } from '../../engine/testing.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

const TABLES = [
  'generations',
  'feedback',
  'adapters',
  'end_users',
  'training_jobs',
  'audit_log',
  'webhook_deliveries',
  'invalidations',
];

let p: TestPlatform;
const rows = async <T>(q: ReturnType<typeof sql>) =>
  ((await p.database.db.execute(q)) as unknown as { rows: T[] }).rows;
/** Each table's file node: VACUUM FULL writes a table anew, under a new node. */
const fileNodes = async () =>
  Object.fromEntries(
    (
      await rows<{ t: string; node: number }>(
        sql.raw(`select t, pg_relation_filenode(t) as node from unnest(array['${TABLES.join("','")}']) as t`),
      )
    ).map((r) => [r.t, Number(r.node)]),
  );
const count = async (table: string) =>
  Number((await rows<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`)))[0]?.n);

beforeAll(async () => {
  p = await startPlatform();
}, 60_000);
afterAll(() => p?.close());

describe('erasure', () => {
  it('costs nothing for users that never existed: 100 at once rewrite no table and fence nothing', async () => {
    const { api_key: key } = await p.newApp('storm');
    const before = await fileNodes();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => p.call('DELETE', `/v1/users/ghost-${i}`, { key })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(204));
    expect(await fileNodes()).toEqual(before);
    expect(await count('compaction_debt')).toBe(0);
    expect(await count('erased_users')).toBe(0);
    expect(await count('invalidations')).toBe(0);
  });

  it('defers compaction of what a real erasure leaves to one background pass, a table at a time', async () => {
    const { api_key: key } = await p.newApp('real');
    for (const user of ['mara', 'kell'])
      await p.call('POST', '/v1/feedback', { key, body: { user, text: `${user} liked this`, rating: 1 } });
    const before = await fileNodes();
    for (const user of ['mara', 'kell'])
      expect((await p.call('DELETE', `/v1/users/${user}`, { key })).status).toBe(204);
    // The requests rewrote nothing; the debt names the tables the rows were in, once however many erasures.
    expect(await fileNodes()).toEqual(before);
    const debt = (await rows<{ table_name: string }>(sql`select table_name from compaction_debt`)).map(
      (r) => r.table_name,
    );
    expect(debt.sort()).toEqual(['end_users', 'feedback']);
    const pass = await new Compactor(p.database.db, { intervalMs: 60_000 }).runOnce();
    expect(pass?.tables.map((t) => t.table)).toEqual(['end_users', 'feedback']);
    const after = await fileNodes();
    expect(after.feedback).not.toBe(before.feedback);
    expect(after.generations).toBe(before.generations);
    expect(await count('compaction_debt')).toBe(0);
  });

  it('counts against the rate limits like any write', async () => {
    const { app_id, api_key: key } = await p.newApp('limited');
    const patched = await p.call('PATCH', `/admin/apps/${app_id}/settings`, {
      key: ADMIN,
      body: { rate_limits: { per_minute: 10 } },
    });
    expect(patched.status, patched.text).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => p.call('DELETE', `/v1/users/ghost-${i}`, { key })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(answers.find((a) => a.status === 429)?.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it("leaves the operator's audit entries to users named like a signing secret's kid or a style", async () => {
    const { app_id, api_key: key } = await p.newApp('audited');
    const rotated = await p.call('POST', `/admin/apps/${app_id}/signing-secrets/rotate`, {
      key: ADMIN,
      body: { overlap_s: 60 },
    });
    expect(rotated.status, rotated.text).toBe(201);
    const kid = rotated.json.kid as string;
    const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
      r: 1,
      alpha: 2,
      targets: ['q_proj'],
      seed: 5,
    });
    const imported = await p.call('POST', `/admin/apps/${app_id}/styles/import`, {
      key: ADMIN,
      body: {
        style: 'noir',
        adapter_config: Buffer.from(files.config).toString('base64'),
        adapter_model: Buffer.from(files.weights).toString('base64'),
      },
    });
    expect(imported.status, imported.text).toBe(201);
    const entries = async () =>
      (await p.call('GET', `/admin/audit?app=${app_id}`, { key: ADMIN })).json.items as {
        action: string;
        subject: string | null;
        subject_kind: string | null;
      }[];
    const operators = (await entries()).filter((e) => e.subject_kind !== 'user');
    expect(operators.map((e) => e.action)).toEqual(
      expect.arrayContaining(['signing_secret.rotated', 'style.imported']),
    );
    // Users of the app whose ids spell the kid and the style's subject, each with a row (so the erasure runs).
    for (const user of [kid, 'style:noir']) {
      expect(
        (await p.call('POST', '/v1/feedback', { key, body: { user, text: 'x', rating: 1 } })).status,
      ).toBe(201);
      expect((await p.call('DELETE', `/v1/users/${encodeURIComponent(user)}`, { key })).status).toBe(204);
    }
    const after = await entries();
    for (const e of operators) expect(after).toContainEqual(e);
    expect(after.filter((e) => e.action === 'user.erased').map((e) => [e.subject, e.subject_kind])).toEqual(
      expect.arrayContaining([
        [kid, 'user'],
        ['style:noir', 'user'],
      ]),
    );
  });
});
