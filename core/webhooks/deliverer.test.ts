// The deliverer hears an activation's notice: the transaction that writes the webhook event writes the
// invalidation notice too, so a deliverer listening on the feed sends at once, whoever promoted (no callback),
// long before its next poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { insertAdapter, promoteAdapter } from '../db/adapters.js';
import { createApp } from '../db/apps.js';
import { INVALIDATION_CHANNEL } from '../db/invalidations.js';
import { migrate } from '../db/migrate.js';
import { createWebhookEndpoint } from '../db/webhooks.js';
import { openPglite } from '../node/pglite.js';
import { WebhookDeliverer } from './deliverer.js';

let database: Awaited<ReturnType<typeof openPglite>>;
beforeAll(async () => {
  database = await openPglite();
  await migrate(database.db);
}, 60_000);
afterAll(async () => {
  await database?.close();
});

describe('the webhook deliverer on the invalidation feed', () => {
  it("sends a promotion's event on its notice, not at the next poll", async () => {
    const { app } = await createApp(database.db, { name: 'hooked' });
    await createWebhookEndpoint(database.db, {
      appId: app.id,
      url: 'https://hooks.example.com/tailor',
      events: ['adapter.promoted'],
    });
    const sent: string[] = [];
    const deliverer = new WebhookDeliverer({
      db: database.db,
      // A minute between polls: only the notice can make it look within the test's second.
      config: { ...loadConfig({}).webhooks, pollMs: 60_000 },
      fetch: async (url) => {
        sent.push(url);
        return new Response(null, { status: 204 });
      },
      listen: (onNotice) => database.listen(INVALIDATION_CHANNEL, onNotice),
    });
    deliverer.start();
    try {
      await new Promise((r) => setTimeout(r, 100)); // its first look found nothing; it waits now
      const owner = { appId: app.id, userId: 'reader' };
      await insertAdapter(database.db, owner, {
        version: 'v1',
        storagePrefix: `adapters/${app.id}/reader/v1/`,
        baseModelId: 'brown-4m',
        status: 'candidate',
      });
      await promoteAdapter(database.db, owner, 'v1'); // as the worker's publish does, in core alone
      for (const end = Date.now() + 1000; sent.length === 0 && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 10));
      expect(sent).toEqual(['https://hooks.example.com/tailor']);
    } finally {
      await deliverer.stop();
    }
  });
});
