// Faults in what storage holds or how it answers, met by generate: a corrupt, truncated or mismatched package
// is refused at load, the request is served by the base model with the reason, the version is marked bad and
// never loaded again, and the user becomes due for training; storage that fails or hangs costs the request at
// most ADAPTER_LOAD_TIMEOUT_MS, marks nothing, and the adapter is back once storage answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAdapterVersion } from '../../core/db/adapters.js';
import { getBaseModel } from '../../core/db/base-models.js';
import { findDueUsers } from '../../core/db/training.js';
import { parseSafetensors } from '../../engine/index.js';
import { writeSafetensors } from '../../engine/testing.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

const LOAD_TIMEOUT_MS = 400;
let p: TestPlatform;
let app: { app_id: string; api_key: string };
let hash: string;

beforeAll(async () => {
  p = await startPlatform({ ADAPTER_LOAD_TIMEOUT_MS: String(LOAD_TIMEOUT_MS) });
  app = await p.newApp('faults');
  hash = (await getBaseModel(p.database.db, p.services.baseModelId))?.hash ?? '';
}, 60_000);
afterAll(() => p.close());

const generate = (user: string) =>
  p.call('POST', '/v1/generate', {
    key: app.api_key,
    body: { user, prompt: 'The ship', max_tokens: 3, seed: 1 },
  });

/** Counts the reads of files under `prefix`. */
function countReads(prefix: string): () => number {
  let n = 0;
  const get = p.store.get.bind(p.store);
  p.store.get = async (k) => {
    if (k.startsWith(prefix)) n++;
    return get(k);
  };
  return () => n;
}

/** The weights of a stored package with every value of its first tensor replaced by `value`. */
async function poisoned(prefix: string, value: number): Promise<Uint8Array> {
  const bytes = (await p.store.get(`${prefix}adapter_model.safetensors`)) as Uint8Array;
  const { tensors } = parseSafetensors(bytes);
  const out = Object.fromEntries(
    [...tensors].map(([name, t], i) => [
      name,
      {
        dtype: 'F32' as const,
        shape: [...t.shape],
        data:
          i === 0 ? new Float32Array(t.data.length).fill(value) : Float32Array.from(t.data as Float32Array),
      },
    ]),
  );
  return writeSafetensors(out);
}

const manifest = (h: string) =>
  new TextEncoder().encode(
    JSON.stringify({ format: 'tailor-adapter/1', base_model: { id: 'brown-4m', hash: h } }),
  );

type Corruption = [name: string, corrupt: (prefix: string) => Promise<void>, reason: RegExp];
const corruptions: Corruption[] = [
  [
    'truncated weights',
    async (prefix) => {
      const w = (await p.store.get(`${prefix}adapter_model.safetensors`)) as Uint8Array;
      await p.store.put(`${prefix}adapter_model.safetensors`, w.slice(0, w.length >> 1));
    },
    /adapter_model.safetensors: invalid safetensors file/,
  ],
  [
    'garbage weights',
    (prefix) =>
      p.store.put(`${prefix}adapter_model.safetensors`, new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 1])),
    /header length 7 out of range/,
  ],
  [
    'a config whose rank does not match the tensors',
    async (prefix) => {
      const cfg = JSON.parse(
        new TextDecoder().decode((await p.store.get(`${prefix}adapter_config.json`)) as Uint8Array),
      );
      await p.store.put(
        `${prefix}adapter_config.json`,
        new TextEncoder().encode(JSON.stringify({ ...cfg, r: 4 })),
      );
    },
    /shape \[8,\d+\], expected \[4,\d+\]/,
  ],
  [
    'NaN weights',
    async (prefix) => p.store.put(`${prefix}adapter_model.safetensors`, await poisoned(prefix, Number.NaN)),
    /not finite/,
  ],
  [
    'infinite weights',
    async (prefix) =>
      p.store.put(`${prefix}adapter_model.safetensors`, await poisoned(prefix, Number.POSITIVE_INFINITY)),
    /not finite/,
  ],
  [
    "another base model's package (weights' hash differs)",
    (prefix) => p.store.put(`${prefix}tailor.json`, manifest('0'.repeat(64))),
    /trained for base model brown-4m \(000000000000\)/,
  ],
];

describe('a package that can never be served', () => {
  for (const [i, [name, corrupt, reason]] of corruptions.entries()) {
    it(`${name}: base model with the reason, marked bad, not loaded again, due for training`, async () => {
      const user = `bad-${i}`;
      const prefix = await p.activeAdapter(app.app_id, user, 'v1', 20 + i);
      await p.store.put(`${prefix}tailor.json`, manifest(hash)); // a manifest naming the served model
      await corrupt(prefix);
      await p.call('POST', '/v1/feedback', { key: app.api_key, body: { user, text: 'A tale.', rating: 1 } });
      const reads = countReads(prefix);

      const first = await generate(user);
      expect(first.status).toBe(200);
      expect(first.json.adapter).toBeNull();
      expect(first.json.adapter_fallback.reason).toMatch(reason);
      expect(first.json.adapter_fallback.reason).toMatch(/^AdapterError: /);
      const row = await getAdapterVersion(p.database.db, { appId: app.app_id, userId: user }, 'v1');
      expect(row?.status).toBe('rejected');
      expect((row?.metrics as { bad?: { reason: string } } | undefined)?.bad?.reason).toMatch(reason);

      const readsAfterFirst = reads();
      const second = await generate(user);
      expect(second.status).toBe(200);
      expect(second.json.adapter).toBeNull();
      expect(second.json.adapter_fallback).toBeUndefined(); // nothing to load: the user has no adapter now
      expect(reads()).toBe(readsAfterFirst);

      const promote = await p.call('POST', '/admin/adapters/promote', {
        key: ADMIN,
        body: { app: app.app_id, user, version: 'v1' },
      });
      expect(promote.status).toBe(409);
      const pinned = await p.call('POST', '/v1/generate', {
        key: app.api_key,
        body: { user, prompt: 'x', max_tokens: 1, adapter: { version: 'v1' } },
      });
      expect(pinned.status).toBe(409);
      expect(pinned.json.error.message).toMatch(/cannot be served/);

      const due = await findDueUsers(p.database.db, {
        minFeedback: 1,
        cooldownSeconds: 0,
        appId: app.app_id,
      });
      expect(due.map((d) => d.userId)).toContain(user);
    });
  }

  it('counts each kind of fallback in /metrics', async () => {
    const m = (await p.call('GET', '/metrics')).text;
    expect(m).toMatch(
      new RegExp(`tailor_adapter_fallbacks_total\\{reason="AdapterError"\\} ${corruptions.length}`),
    );
  });
});

describe('storage that fails or hangs', () => {
  it('missing files: the base model with the reason; the version is not marked (a restore may bring them)', async () => {
    const prefix = await p.activeAdapter(app.app_id, 'gone', 'v1', 40);
    await p.store.delete(`${prefix}adapter_model.safetensors`);
    const r = await generate('gone');
    expect(r.json.adapter_fallback.reason).toMatch(/^StorageError: adapter files missing/);
    expect(
      (await getAdapterVersion(p.database.db, { appId: app.app_id, userId: 'gone' }, 'v1'))?.status,
    ).toBe('active');
  });

  for (const mode of ['fails', 'hangs'] as const) {
    it(`storage that ${mode}: answered in bounded time on the base model, then the adapter once storage is back`, async () => {
      const user = `flaky-${mode}`;
      const prefix = await p.activeAdapter(app.app_id, user, 'v1', mode === 'fails' ? 41 : 42);
      const get = p.store.get.bind(p.store);
      let release: () => void = () => {};
      const back = new Promise<void>((r) => (release = r));
      p.store.get = async (k) => {
        if (!k.startsWith(prefix)) return get(k);
        if (mode === 'fails')
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
        await back; // answers only once storage is "back"
        return get(k);
      };
      try {
        const t0 = performance.now();
        const r = await generate(user);
        const ms = performance.now() - t0;
        expect(r.status).toBe(200);
        expect(r.json.adapter).toBeNull();
        expect(r.json.adapter_fallback.reason).toMatch(
          mode === 'fails'
            ? /^StorageUnavailable: /
            : new RegExp(`^StorageTimeout: .*within ${LOAD_TIMEOUT_MS} ms`),
        );
        expect(ms).toBeLessThan(LOAD_TIMEOUT_MS + 5_000); // the load's bound plus a generation, on a busy machine
      } finally {
        p.store.get = get;
        release();
      }
      expect(
        (await getAdapterVersion(p.database.db, { appId: app.app_id, userId: user }, 'v1'))?.status,
      ).toBe('active');
      const recovered = await generate(user);
      expect(recovered.json.adapter).toEqual({ version: 'v1' });
      expect(recovered.json.adapter_fallback).toBeUndefined();
      const m = (await p.call('GET', '/metrics')).text;
      expect(m).toMatch(mode === 'fails' ? /reason="StorageUnavailable"\} 1/ : /reason="StorageTimeout"\} 1/);
    });
  }
});
