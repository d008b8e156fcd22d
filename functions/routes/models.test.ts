// Which bases a runtime serves: a base published in the database but larger than the runtime's limit (a
// Workers isolate: runtime/workers/limits.ts) is refused with the arithmetic and nothing is loaded; an unknown
// one is a 404; the default base is always there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertBaseModel } from '../../core/db/base-models.js';
import { WORKERS_BASE_LIMIT } from '../../runtime/workers/limits.js';
import { startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('bases');
  p.services.baseLimit = WORKERS_BASE_LIMIT;
  // a 135 M base's graph: its size is all the check reads
  await p.store.put('models/big/model.onnx', new Uint8Array(30 * 1000 * 1000));
  await upsertBaseModel(p.database.db, { id: 'big', storagePrefix: 'models/big/', hash: 'h', config: {} });
}, 60_000);
afterAll(() => p.close());

describe('bases a runtime serves', () => {
  it('refuses a base above its limit, with the arithmetic, and loads nothing', async () => {
    const r = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'u', prompt: 'Once', max_tokens: 2, model: 'big' },
    });
    expect(r.status).toBe(422);
    expect(r.json.error.message).toMatch(/base model big has a 30 MB graph; this runtime serves up to 25 MB/);
    expect(r.json.error.message).toMatch(/3\.5× its graph/);
    expect(p.engine.bases().map((b) => b.id)).toEqual(['brown-4m']);
    const chat = await p.call('POST', '/v1/chat/completions', {
      key: app.api_key,
      body: { model: 'big', user: 'u', messages: [{ role: 'user', content: 'Hi' }] },
    });
    expect(chat.status).toBe(422);
  });

  it('serves the default base, and answers 404 for one never published', async () => {
    const ok = await p.call('POST', '/v1/generate', {
      key: app.api_key,
      body: { user: 'u', prompt: 'Once', max_tokens: 2, model: 'brown-4m' },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.model).toBe('brown-4m');
    const none = await p.call('POST', '/v1/score', {
      key: app.api_key,
      body: { user: 'u', texts: ['x'], model: 'gpt-9' },
    });
    expect(none.status).toBe(404);
  });
});
