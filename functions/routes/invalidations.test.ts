// The invalidation feed as one API process applies it (test/invalidation.test.ts runs it across real
// processes): a notice written by "another process" (straight into the feed, as its erasure would) empties
// this process's caches of that user, and only of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
