// What a device downloads: every file of a user's active adapter version and of the app's active styles, and
// the base model package, through signed links that name the content's SHA-256. The bytes behind each link
// hash to what the listing says; a tampered link is refused, a file that changed since answers 410, and any
// page may read the files (the signature is the credential).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAdapter, promoteAdapter } from '../../core/db/adapters.js';
import { MODELS_DIR } from '../../core/node/repo.js';
import { styleAdaptersPrefix } from '../../core/storage/keys.js';
import { randomAdapter } from '../../engine/testing.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Link = { name: string; url: string; sha256: string; size: number };
const path = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};
async function download(link: Link, headers: Record<string, string> = {}) {
  const res = await p.app.request(`http://localhost${path(link.url)}`, { headers });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('devices');
  const prefix = await p.activeAdapter(app.app_id, 'reader', 'v1', 3);
  await p.store.put(`${prefix}tailor.json`, new TextEncoder().encode('{"format":"tailor-adapter/1"}'));
  const style = { appId: app.app_id, styleId: 'noir' };
  const stylePrefix = `${styleAdaptersPrefix(app.app_id, 'noir')}s1/`;
  const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
    r: 4,
    alpha: 8,
    targets: ['q_proj'],
    seed: 5,
  });
  await p.store.put(`${stylePrefix}adapter_config.json`, files.config);
  await p.store.put(`${stylePrefix}adapter_model.safetensors`, files.weights);
  await insertAdapter(p.database.db, style, {
    version: 's1',
    storagePrefix: stylePrefix,
    baseModelId: 'brown-4m',
    status: 'candidate',
    metrics: {},
  });
  await promoteAdapter(p.database.db, style, 's1');
}, 60_000);
afterAll(() => p.close());

describe("a user's adapter", () => {
  it('links every file of the version and of the active styles, each hashing to what the listing says', async () => {
    const r = await p.call('GET', '/v1/users/reader/adapter', { key: app.api_key });
    expect(r.status).toBe(200);
    expect(r.json.files.map((f: Link) => f.name)).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'tailor.json',
    ]);
    expect(r.json.download.url).toBe(r.json.files[1].url);
    expect(r.json.styles).toHaveLength(1);
    expect(r.json.styles[0]).toMatchObject({ id: 'noir', version: 's1' });
    for (const f of [...r.json.files, ...r.json.styles[0].files] as Link[]) {
      const { res, bytes } = await download(f, { origin: 'https://some-page.example' });
      expect(res.status).toBe(200);
      expect(bytes.length).toBe(f.size);
      expect(sha(bytes)).toBe(f.sha256);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('etag')).toBe(`"${f.sha256}"`);
      expect(res.headers.get('cache-control')).toMatch(/immutable/);
      const stored = await p.store.get(new URL(f.url).pathname.slice('/v1/files/'.length));
      expect(sha(stored as Uint8Array)).toBe(f.sha256);
    }
  });

  it('refuses a link whose hash was changed, and answers 410 once the file differs from the link', async () => {
    const r = await p.call('GET', '/v1/users/reader/adapter', { key: app.api_key });
    const weights = r.json.files[1] as Link;
    const forged = weights.url.replace(/sha256=[0-9a-f]+/, `sha256=${'0'.repeat(64)}`);
    expect((await p.call('GET', path(forged))).status).toBe(403);
    const key = decodeURIComponent(new URL(weights.url).pathname.slice('/v1/files/'.length));
    const before = (await p.store.get(key)) as Uint8Array;
    await p.store.put(key, new Uint8Array([1, 2, 3]));
    try {
      const gone = await p.call('GET', path(weights.url));
      expect(gone.status).toBe(410);
      expect(gone.json.error.code).toBe('gone');
    } finally {
      await p.store.put(key, before);
    }
  });
});

describe('the base model package', () => {
  it('links the files a device needs, with the digests of the shipped files', async () => {
    const r = await p.call('GET', '/v1/models/brown-4m/files', { key: app.api_key });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('brown-4m');
    expect(r.json.hash).toBe(sha(readFileSync(join(MODELS_DIR, 'brown-4m', 'model.safetensors'))));
    expect(r.json.files.map((f: Link) => f.name)).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'model.onnx',
    ]);
    for (const f of r.json.files as Link[]) {
      const shipped = readFileSync(join(MODELS_DIR, 'brown-4m', f.name));
      expect(f).toMatchObject({ sha256: sha(shipped), size: shipped.length });
      if (f.name !== 'model.onnx') {
        const { res, bytes } = await download(f);
        expect(res.status).toBe(200);
        expect(sha(bytes)).toBe(f.sha256);
      }
    }
  });

  it('answers 404 for a model it does not serve and refuses the admin token (not an app credential) and none', async () => {
    expect((await p.call('GET', '/v1/models/gpt-9/files', { key: app.api_key })).status).toBe(404);
    expect((await p.call('GET', '/v1/models/brown-4m/files', { key: ADMIN })).status).toBe(401);
    expect((await p.call('GET', '/v1/models/brown-4m/files')).status).toBe(401);
  });
});
