// GET /v1/users/{user}/export streams its document a page at a time: however much a user has stored, the
// process holds a page of it, and the client reads valid JSON with every item.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertFeedback } from '../../core/db/feedback.js';
import { startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
}, 60_000);
afterAll(() => p?.close());

describe('the export', () => {
  it('streams every page of a large history as one JSON document', async () => {
    const { app_id: appId, api_key: key } = await p.newApp('export');
    const text = 'The lamp of Brennock burned all night while Ysolde kept the log. '.repeat(8);
    for (let i = 0; i < 1100; i++)
      await insertFeedback(p.database.db, { appId, userId: 'ysolde', text: `${i}: ${text}`, rating: 1 });
    await p.call('POST', '/v1/generate', { key, body: { user: 'ysolde', prompt: 'The', max_tokens: 2 } });
    const res = await p.app.request('http://localhost/v1/users/ysolde/export', {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body as ReadableStream<Uint8Array>) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1); // sent as it was read, not built whole first
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    expect(doc).toMatchObject({ app_id: appId, user: 'ysolde', adapters: [] });
    expect(doc.profile).not.toBeNull();
    expect(doc.generations).toHaveLength(1);
    expect(doc.feedback).toHaveLength(1100);
    expect(new Set(doc.feedback.map((f: { id: string }) => f.id)).size).toBe(1100);
    expect(doc.feedback[0].text.startsWith('1099: ')).toBe(true); // newest first, as listed
  }, 60_000);
});
