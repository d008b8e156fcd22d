// What an attacker found, each with the test that would have caught it: server paths in fallback reasons,
// erasure that left traces (job records, the audit log, PGlite's files), links that took their origin from
// the Host header.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compactor } from '../../core/db/compaction.js';
import { getJob } from '../../core/db/jobs.js';
import { findDueUsers, usersWithUsableFeedback } from '../../core/db/training.js';
import { enqueue } from '../../core/training/jobs.js';
import { trainingJobs } from '../../schema/tables.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

const admin = { key: ADMIN };

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (readFileSync(path).includes(needle)) out.push(path);
    }
  };
  walk(dir);
  return out;
}

describe('on a platform with a public URL', () => {
  let p: TestPlatform;
  let app: { app_id: string; api_key: string };
  beforeAll(async () => {
    p = await startPlatform({ TAILOR_PUBLIC_URL: 'https://api.example.com' });
    app = await p.newApp('findings');
  }, 60_000);
  afterAll(() => p.close());

  it('never shows a server path in a fallback reason', async () => {
    const prefix = await p.activeAdapter(app.app_id, 'loopy', 'v1', 3);
    const get = p.store.get.bind(p.store);
    p.store.get = async (k) => {
      if (k.startsWith(prefix))
        throw Object.assign(new Error(`ELOOP: too many symbolic links, open '/srv/tailor/storage/${k}'`), {
          code: 'ELOOP',
        });
      return get(k);
    };
    try {
      const r = await p.call('POST', '/v1/generate', {
        key: app.api_key,
        body: { user: 'loopy', prompt: 'x', max_tokens: 2 },
      });
      expect(r.status).toBe(200);
      expect(r.json.adapter).toBeNull();
      expect(r.json.adapter_fallback.reason).toBe(
        'StorageUnavailable: storage did not answer while reading the adapter files',
      );
      expect(JSON.stringify(r.json)).not.toContain('/srv/');
      expect((await p.call('GET', '/metrics')).text).toMatch(
        /tailor_adapter_fallbacks_total\{reason="StorageUnavailable"\} 1/,
      );
    } finally {
      p.store.get = get;
    }
  });

  it("erase drops the user's adapters from the engine's cache; other users' stay", async () => {
    await p.activeAdapter(app.app_id, 'cached', 'v1', 5);
    await p.activeAdapter(app.app_id, 'neighbour', 'v1', 6);
    for (const user of ['cached', 'neighbour']) {
      const r = await p.call('POST', '/v1/generate', {
        key: app.api_key,
        body: { user, prompt: 'x', max_tokens: 1 },
      });
      expect(r.json.adapter).toEqual({ version: 'v1' });
    }
    const before = p.engine.metrics().adapterCache.entries;
    expect((await p.call('DELETE', '/v1/users/cached', { key: app.api_key })).status).toBe(204);
    expect(p.engine.metrics().adapterCache.entries).toBe(before - 1); // the neighbour's stays
  });

  it('points download links at the public URL, whatever the Host header says', async () => {
    await p.activeAdapter(app.app_id, 'linked', 'v1', 4);
    const res = await p.app.request('http://evil.example/v1/users/linked/adapter', {
      headers: { authorization: `Bearer ${app.api_key}`, host: 'evil.example' },
    });
    const { download } = (await res.json()) as { download: { url: string } };
    expect(download.url.startsWith('https://api.example.com/v1/files/')).toBe(true);
  });

  it('exports everything stored about a user, to their app only, and nothing once they are erased', async () => {
    const user = 'exporter';
    const g = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user, prompt: 'Once', max_tokens: 3 },
    });
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user, generation_id: g.json.id, rating: 1 },
    });
    await p.call('POST', '/v1/feedback', {
      key: app.api_key,
      body: { user, text: 'mine', rating: -1, edited_text: 'ours' },
    });
    await p.activeAdapter(app.app_id, user, 'v1', 8);
    const out = await p.call('GET', `/v1/users/${user}/export`, { key: app.api_key });
    expect(out.status).toBe(200);
    expect(out.json).toMatchObject({ app_id: app.app_id, user, profile: { created_at: expect.any(String) } });
    expect(
      out.json.feedback.map((f: { edited_text: string | null }) => f.edited_text ?? '(none)').sort(),
    ).toEqual(['(none)', 'ours']);
    expect(out.json.generations.map((x: { id: string }) => x.id)).toEqual([g.json.id]);
    expect(out.json.adapters.map((a: { version: string }) => a.version)).toEqual(['v1']);
    const other = await p.newApp('someone-else');
    const theirs = await p.call('GET', `/v1/users/${user}/export`, { key: other.api_key });
    expect(theirs.json).toMatchObject({ profile: null, feedback: [], generations: [], adapters: [] });
    await p.call('DELETE', `/v1/users/${user}`, { key: app.api_key });
    const after = await p.call('GET', `/v1/users/${user}/export`, { key: app.api_key });
    expect(after.json).toMatchObject({ profile: null, feedback: [], generations: [], adapters: [] });
  });

  it('opts a user out of training: feedback kept, active version retired, never due; and back in', async () => {
    const user = 'private';
    for (let i = 0; i < 3; i++)
      await p.call('POST', '/v1/feedback', {
        key: app.api_key,
        body: { user, text: `liked ${i}`, rating: 1 },
      });
    await p.activeAdapter(app.app_id, user, 'v1', 9);
    const gen = () =>
      p.call('POST', '/v1/generate', { key: app.api_key, body: { user, prompt: 'x', max_tokens: 1 } });
    expect((await gen()).json.adapter).toEqual({ version: 'v1' });
    const out = await p.call('PUT', `/v1/users/${user}/training`, {
      key: app.api_key,
      body: { enabled: false },
    });
    expect(out.json).toMatchObject({
      user,
      enabled: false,
      retired_version: 'v1',
      opted_out_at: expect.any(String),
    });
    expect((await gen()).json.adapter).toBeNull();
    expect((await p.call('GET', `/v1/users/${user}/adapter`, { key: app.api_key })).status).toBe(404);
    const named = { appId: app.app_id, userIds: [user] };
    expect(await usersWithUsableFeedback(p.database.db, named)).toEqual([]);
    expect(await findDueUsers(p.database.db, { minFeedback: 1, cooldownSeconds: 0, ...named })).toEqual([]);
    const exported = await p.call('GET', `/v1/users/${user}/export`, { key: app.api_key });
    expect(exported.json.feedback).toHaveLength(3);
    expect(exported.json.profile.training_opted_out_at).toEqual(out.json.opted_out_at);
    expect(
      (await p.call('PUT', `/v1/users/${user}/training`, { key: app.api_key, body: { enabled: 'no' } }))
        .status,
    ).toBe(422);
    const back = await p.call('PUT', `/v1/users/${user}/training`, {
      key: app.api_key,
      body: { enabled: true },
    });
    expect(back.json).toMatchObject({ enabled: true, opted_out_at: null, retired_version: null });
    expect(await usersWithUsableFeedback(p.database.db, named)).toEqual([
      { appId: app.app_id, userId: user },
    ]);
  });

  it('erases a user from job records and the audit log too, keeping the fact of the erasure', async () => {
    const user = 'gone';
    await p.call('POST', '/v1/feedback', { key: app.api_key, body: { user, text: 'x', rating: 1 } });
    await p.activeAdapter(app.app_id, user, 'v1', 5);
    await p.call('POST', '/admin/adapters/rollback', { ...admin, body: { app: app.app_id, user: 'nobody' } });
    await p.activeAdapter(app.app_id, user, 'v2', 6);
    expect(
      (await p.call('POST', '/admin/adapters/rollback', { ...admin, body: { app: app.app_id, user } }))
        .status,
    ).toBe(200);
    const job = await enqueue(p.database.db, 'train-users', {
      baseModel: 'brown-4m',
      users: [
        { appId: app.app_id, userId: user },
        { appId: app.app_id, userId: 'gone-too-far' }, // a longer id that starts like it stays
      ],
    });
    const outcome = (u: string) => ({
      app: app.app_id,
      user: u,
      version: 'v3',
      status: 'active',
      heldout_loss_after: 4,
      baseline_heldout_loss: 5,
      baseline: 'base',
    });
    await p.database.db
      .update(trainingJobs)
      .set({
        status: 'succeeded',
        result: { users: [outcome(user), outcome('gone-too-far')], skipped: [], failed: [] },
        log: `training 2 adapter(s) on brown-4m: ${app.app_id}/${user}, ${app.app_id}/gone-too-far\n${app.app_id}/${user}: v3 promoted (held-out 4.0000 vs base 5.0000)\n`,
      })
      .where(eq(trainingJobs.id, job.id));

    expect((await p.call('DELETE', `/v1/users/${user}`, { key: app.api_key })).status).toBe(204);

    const after = await getJob(p.database.db, job.id);
    const text = JSON.stringify({ payload: after?.payload, result: after?.result, log: after?.log });
    expect(text).not.toMatch(new RegExp(`${app.app_id}/${user}(?![a-z-])|"(user|userId)":"${user}"`));
    expect(text).toContain('gone-too-far');
    expect(after?.log).toContain(`${app.app_id}/(erased): v3 promoted`);
    const audit = await p.call('GET', `/admin/audit?app=${app.app_id}`, admin);
    const aboutThem = audit.json.items.filter((e: { subject: string | null }) => e.subject === user);
    expect(aboutThem.map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`)).toEqual([
      `app:${app.app_id} user.erased`,
    ]);
  });
});

describe('on the embedded PGlite, on disk', () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tailor-erase-'));
    p = await startPlatform({}, { dataDir: dir });
  }, 60_000);
  afterAll(async () => {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves no byte of an erased user's feedback in the data directory after the compactor's pass", async () => {
    const app = await p.newApp('disk');
    const marker = 'MARKER-of-a-reader-who-asked-to-be-forgotten';
    for (let i = 0; i < 5; i++)
      await p.call('POST', '/v1/feedback', {
        key: app.api_key,
        body: { user: 'forget-me', text: `${marker} ${i}`, rating: 1 },
      });
    await p.database.db.execute('checkpoint');
    expect(filesContaining(join(dir, 'pglite'), marker).length).toBeGreaterThan(0);
    expect((await p.call('DELETE', '/v1/users/forget-me', { key: app.api_key })).status).toBe(204);
    // The request rewrites nothing (an erase storm must not stall everyone); the background pass does
    // (npm start runs it every TAILOR_COMPACTION_INTERVAL_S).
    await new Compactor(p.database.db, { intervalMs: 60_000 }).runOnce();
    expect(filesContaining(join(dir, 'pglite'), marker)).toEqual([]);
  });
});
