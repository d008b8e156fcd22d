// Memory through the API: a user's liked and edited texts, recalled by the words of the request, fill a
// bounded part of the context before the prompt (or before `context` when scoring). The answer names the
// items and their tokens; dislikes, other users, opted-out and erased users contribute nothing; the app's
// settings choose the default.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generations } from '../../schema/tables.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let key: string;
let appId: string;
const ids: Record<string, string> = {};

const PASSAGES = {
  lamp: 'Marla lit the lamp in the lighthouse and watched the boats come home.',
  nets: 'Old Tobin mended his nets on the quay while the gulls argued overhead.',
  fog: 'The fog rolled in from the sea before dawn, and the bell on the point rang.',
};

async function feedback(user: string, body: Record<string, unknown>) {
  const r = await p.call('POST', '/v1/feedback', { key, body: { user, ...body } });
  expect(r.status).toBe(201);
  return r.json.id as string;
}

beforeAll(async () => {
  p = await startPlatform({ MEMORY_TOKENS: '64' });
  const app = await p.newApp('memory');
  key = app.api_key;
  appId = app.app_id;
  for (const [name, text] of Object.entries(PASSAGES))
    ids[name] = await feedback('reader', { text, rating: 1 });
  ids.edit = await feedback('reader', {
    text: 'The keeper slept.',
    edited_text: 'The keeper never slept while a boat was out.',
    rating: -1,
  });
  ids.dislike = await feedback('reader', { text: 'A dragon ate the lighthouse keeper.', rating: -1 });
  await feedback('other', { text: 'The lighthouse was full of cats and Marla hated cats.', rating: 1 });
}, 60_000);
afterAll(() => p?.close());

const generate = (body: Record<string, unknown>) =>
  p.call('POST', '/v1/generate', { key, body: { user: 'reader', max_tokens: 8, temperature: 0, ...body } });

describe('memory on /v1/generate', () => {
  it('is off unless asked for (the platform default), and the answer then says nothing of it', async () => {
    const r = await generate({ prompt: 'Marla climbed to the lamp' });
    expect(r.status).toBe(200);
    expect(r.json.memory).toBeUndefined();
  });

  it('recalls the passages that share the prompt’s words first, within the budget, and names them', async () => {
    const r = await generate({ prompt: 'Marla climbed to the lamp', memory: 'auto' });
    expect(r.status).toBe(200);
    expect(r.json.memory.items).toContain(ids.lamp);
    expect(r.json.memory.tokens).toBeGreaterThan(0);
    expect(r.json.memory.tokens).toBeLessThanOrEqual(64);
    expect(r.json.memory.items).not.toContain(ids.dislike);
    // The edit counts as the user's own text; another user's passage never does.
    const all = await generate({ prompt: 'keeper boat', memory: 'auto' });
    expect(all.json.memory.items).toContain(ids.edit);
  });

  it('changes what the model sees: greedy text differs with memory, and is the same again with it', async () => {
    const prompt = 'She said';
    const [off, on, again] = [
      await generate({ prompt, max_tokens: 24 }),
      await generate({ prompt, max_tokens: 24, memory: 'auto' }),
      await generate({ prompt, max_tokens: 24, memory: 'auto' }),
    ];
    expect(on.json.text).toBe(again.json.text);
    expect(on.json.text).not.toBe(off.json.text);
    // usage counts the caller's prompt only; memory reports its own tokens
    expect(on.json.usage.prompt_tokens).toBe(off.json.usage.prompt_tokens);
  });

  it('with words that match nothing, the latest passages are recalled', async () => {
    const r = await generate({ prompt: 'Zyx qwv', memory: 'auto' });
    expect(r.json.memory.items.length).toBeGreaterThan(0);
    expect(r.json.memory.items).toContain(ids.edit); // the newest usable item
  });

  it('is stored with the generation (for reproduction)', async () => {
    const r = await generate({ prompt: 'the fog and the bell', memory: 'auto' });
    const [row] = await p.database.db
      .select({ params: generations.params })
      .from(generations)
      .where(eq(generations.id, r.json.id));
    expect(row?.params.memory).toEqual(r.json.memory);
    expect(r.json.memory.items).toContain(ids.fog);
  });

  it('refuses a memory value it does not know, writing nothing', async () => {
    const before = await p.rowCounts();
    const r = await generate({ prompt: 'x', memory: 'all' });
    expect(r.status).toBe(422);
    expect(r.json.error.message).toMatch(/memory/);
    expect(await p.rowCounts()).toEqual(before);
  });

  it("follows the app's default, which a request can still turn off", async () => {
    const patch = await p.call('PATCH', `/admin/apps/${appId}/settings`, {
      key: ADMIN,
      body: { defaults: { memory: 'auto' } },
    });
    expect(patch.status).toBe(200);
    expect((await generate({ prompt: 'lamp' })).json.memory.items).toContain(ids.lamp);
    expect((await generate({ prompt: 'lamp', memory: 'none' })).json.memory).toBeUndefined();
    await p.call('PATCH', `/admin/apps/${appId}/settings`, {
      key: ADMIN,
      body: { defaults: { memory: null } },
    });
    expect((await generate({ prompt: 'lamp' })).json.memory).toBeUndefined();
  });
});

describe('memory on /v1/score', () => {
  it("comes before the context and lowers the NLL of a text that repeats the user's passage", async () => {
    const text = ` ${PASSAGES.nets}`;
    const body = { user: 'reader', texts: [text], context: 'Tobin and his nets', adapter: 'none' };
    const off = await p.call('POST', '/v1/score', { key, body });
    const on = await p.call('POST', '/v1/score', { key, body: { ...body, memory: 'auto' } });
    expect(on.status).toBe(200);
    expect(on.json.memory.items).toContain(ids.nets);
    expect(on.json.results[0].mean_nll).toBeLessThan(off.json.results[0].mean_nll);
    expect(off.json.memory).toBeUndefined();
  });

  it('leaves room for the longest text: memory shrinks, the text is scored whole', async () => {
    const long = 'word '.repeat(230);
    const r = await p.call('POST', '/v1/score', {
      key,
      body: { user: 'reader', texts: [long], memory: 'auto', adapter: 'none' },
    });
    expect(r.status).toBe(200);
    const ctx = p.engine.model(p.services.baseModelId).contextLength;
    expect(r.json.memory.tokens).toBeLessThanOrEqual(ctx - 1 - r.json.results[0].tokens);
  });
});

describe('what memory never holds', () => {
  it('anything of a user who opted out of training', async () => {
    await feedback('quiet', { text: PASSAGES.lamp, rating: 1 });
    const put = await p.call('PUT', '/v1/users/quiet/training', { key, body: { enabled: false } });
    expect(put.status).toBe(200);
    const r = await p.call('POST', '/v1/generate', {
      key,
      body: { user: 'quiet', prompt: 'lamp', max_tokens: 4, memory: 'auto' },
    });
    expect(r.json.memory).toEqual({ items: [], tokens: 0 });
  });

  it('anything of an erased user', async () => {
    await feedback('gone', { text: PASSAGES.fog, rating: 1 });
    const before = await p.call('POST', '/v1/generate', {
      key,
      body: { user: 'gone', prompt: 'fog', max_tokens: 4, memory: 'auto' },
    });
    expect(before.json.memory.items).toHaveLength(1);
    expect((await p.call('DELETE', '/v1/users/gone', { key })).status).toBeLessThan(300);
    const after = await p.call('POST', '/v1/generate', {
      key,
      body: { user: 'gone', prompt: 'fog', max_tokens: 4, memory: 'auto' },
    });
    expect(after.json.memory).toEqual({ items: [], tokens: 0 });
  });
});
