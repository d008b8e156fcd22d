// The invalidation feed as one API process applies it (test/invalidation.test.ts runs it across real
// processes): a notice written by "another process" (straight into the feed, as its erasure would) empties
// this process's caches of that user, and only of them; a version promoted beside the API in this process (as
// the training worker's publish does, in core/ alone) is heard on PGlite's own notice, no callback threaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAdapter, promoteAdapter } from '../../core/db/adapters.js';
import { recordInvalidation } from '../../core/db/invalidations.js';
import { startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('feed');
  await p.services.invalidator.start();
}, 60_000);
afterAll(async () => {
  await p.services.invalidator.stop();
  await p.close();
});

const generate = (user: string) =>
  p.call('POST', '/v1/generate', { key: app.api_key, body: { user, prompt: 'The', max_tokens: 1 } });

describe('the invalidation feed', () => {
  it("drops the erased user's adapter and active version, and no one else's", async () => {
    await p.activeAdapter(app.app_id, 'ysolde', 'v1', 31);
    await p.activeAdapter(app.app_id, 'brann', 'v1', 32);
    expect((await generate('ysolde')).json.adapter?.version).toBe('v1');
    expect((await generate('brann')).json.adapter?.version).toBe('v1');
    expect(p.engine.metrics().adapterCache.entries).toBe(2);
    const subject = await p.services.userHash(app.app_id, 'ysolde');
    await p.database.db.transaction((tx) =>
      recordInvalidation(tx, { kind: 'user_erased', appId: app.app_id, subject }),
    );
    await p.services.invalidator.look();
    expect(p.services.invalidator.counts.user_erased).toBe(1);
    expect(p.engine.metrics().adapterCache.entries).toBe(1);
    expect((await generate('brann')).json.adapter?.version).toBe('v1');
  });
});

describe('a promotion beside the API in this process', () => {
  let q: TestPlatform;
  let other: { app_id: string; api_key: string };
  beforeAll(async () => {
    // Ten minutes between polls: within the test only the notice can make the process look.
    q = await startPlatform({ TAILOR_INVALIDATION_POLL_MS: '600000' });
    other = await q.newApp('beside');
  }, 60_000);
  afterAll(() => q?.close());

  it('serves a version promoted in core alone (as the worker does) at the next request: heard on the notice', async () => {
    const ask = () =>
      q.call('POST', '/v1/generate', {
        key: other.api_key,
        body: { user: 'oswin', prompt: 'The', max_tokens: 1 },
      });
    const prefix = await q.activeAdapter(other.app_id, 'oswin', 'v1', 33);
    await q.services.invalidator.look(); // v1's own notice applied: what follows is v2's
    expect((await ask()).json.adapter?.version).toBe('v1'); // cached now, for 5 s
    const owner = { appId: other.app_id, userId: 'oswin' };
    await insertAdapter(q.database.db, owner, {
      version: 'v2',
      storagePrefix: prefix,
      baseModelId: q.services.baseModelId,
      status: 'candidate',
    });
    const heard = q.services.invalidator.counts.adapter_activated;
    await promoteAdapter(q.database.db, owner, 'v2');
    for (const end = Date.now() + 2000; q.services.invalidator.counts.adapter_activated === heard; ) {
      if (Date.now() > end) throw new Error('the promotion was not heard within 2 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await ask()).json.adapter?.version).toBe('v2');
  });
});
