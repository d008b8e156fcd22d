// Feedback on a generation id: ids are tagged under the platform's own key, which no app holds. Ids of the
// previous scheme (tagged under the app's original signing secret, which rotation never changes, so a leak
// forges them for ever) pass for one release, and only for a generation that exists.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertGeneration } from '../../core/db/generations.js';
import { newId } from '../../core/db/ids.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string; signing_secret: string };

const feedback = (body: object) =>
  p.call('POST', '/v1/feedback', { key: app.api_key, body: { rating: 1, ...body } });
/** The previous scheme, written out: HMAC-SHA256 of (id, user) under the app's signing secret. */
const legacyTag = (secret: string, id: string, user: string) =>
  createHmac('sha256', secret).update(`generation:${id}:${user}`).digest('base64url').slice(0, 16);
const legacyId = (user: string) => {
  const id = newId('gen');
  return `${id}.${legacyTag(app.signing_secret, id, user)}`;
};

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('feedback');
}, 60_000);
afterAll(() => p.close());

describe('POST /v1/feedback on a generation id', () => {
  it("accepts the ids generations get now, which no app's secret can make", async () => {
    const g = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'reader', prompt: 'Once', max_tokens: 2 },
    });
    const [id, tag] = (g.json.id as string).split('.') as [string, string];
    expect(tag).not.toBe(legacyTag(app.signing_secret, id, 'reader'));
    expect((await feedback({ user: 'reader', generation_id: g.json.id })).status).toBe(201);
  });

  it('refuses an id forged with the original signing secret, after a rotation, for no generation', async () => {
    const rotated = await p.call('POST', `/admin/apps/${app.app_id}/signing-secrets/rotate`, {
      key: ADMIN,
      body: { overlap_s: 0 },
    });
    expect(rotated.status).toBe(201);
    const before = await p.rowCounts();
    const forged = await feedback({ user: 'reader', generation_id: legacyId('reader') });
    expect(forged.status).toBe(404);
    expect(await p.rowCounts()).toEqual(before);
  });

  it('still accepts an id of the previous scheme for a generation that exists (one release)', async () => {
    const id = legacyId('old-reader');
    await insertGeneration(p.database.db, {
      id,
      appId: app.app_id,
      userId: 'old-reader',
      prompt: 'It was',
      text: ' a dark night',
      finishReason: 'length',
      promptTokens: 2,
      completionTokens: 3,
    });
    expect((await feedback({ user: 'old-reader', generation_id: id })).status).toBe(201);
    expect((await feedback({ user: 'someone-else', generation_id: id })).status).toBe(404);
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/feedback?user=old-reader`, { key: ADMIN });
    expect(listed.json.items[0]).toMatchObject({ generation_id: id, text: ' a dark night' });
  });
});
