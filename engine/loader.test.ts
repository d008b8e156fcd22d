// The storage loader: a version's two files, refused when its manifest names another base model's weights, and
// storage's failures as codes. And where the engine learns its base's weights' hash: the package's marker.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../core/storage/memory-store.js';
import { engineErrorOf } from './errors.js';
import { StoreAdapterLoader } from './loader.js';
import { loadModelInfo } from './model-package.js';
import type { AdapterRef } from './refs.js';

const HASH = 'ab'.repeat(32);
const ref: AdapterRef = { base: 'brown-4m', key: 'adapters/app/u1/v1/', kind: 'user', weight: 1 };
const bytes = (s: string) => new TextEncoder().encode(s);

async function stored(manifestHash?: string) {
  const store = new MemoryStore();
  await store.put(`${ref.key}adapter_config.json`, bytes('{}'));
  await store.put(`${ref.key}adapter_model.safetensors`, new Uint8Array([1, 2, 3]));
  if (manifestHash)
    await store.put(
      `${ref.key}tailor.json`,
      bytes(
        JSON.stringify({ format: 'tailor-adapter/1', base_model: { id: 'brown-4m', hash: manifestHash } }),
      ),
    );
  return store;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'loaded',
    (e: unknown) => engineErrorOf(e).code,
  );

describe('StoreAdapterLoader', () => {
  it('reads the two files; checks the manifest against the base’s hash when the engine knows it', async () => {
    const loader = new StoreAdapterLoader(await stored(HASH));
    const files = await loader.load(ref, { id: 'brown-4m', hash: HASH });
    expect([...files.weights]).toEqual([1, 2, 3]);
    expect(await codeOf(loader.load(ref, { id: 'brown-4m', hash: 'cd'.repeat(32) }))).toBe('adapter_invalid');
    await expect(loader.load(ref, { id: 'brown-4m', hash: 'cd'.repeat(32) })).rejects.toThrow(
      /trained for base model brown-4m \(abababababab\), this server serves brown-4m \(cdcdcdcdcdcd\)/,
    );
    // No hash known (a package put in place by hand): nothing to check against.
    expect(await codeOf(loader.load(ref, { id: 'brown-4m' }))).toBe('loaded');
  });

  it('missing files and storage that fails are codes of their own', async () => {
    const store = await stored();
    await store.delete(`${ref.key}adapter_model.safetensors`);
    const loader = new StoreAdapterLoader(store);
    expect(await codeOf(loader.load(ref, { id: 'brown-4m' }))).toBe('adapter_missing');
    store.get = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    expect(await codeOf(loader.load(ref, { id: 'brown-4m' }))).toBe('storage_unavailable');
  });
});

describe('the base model’s identity', () => {
  const dir = resolve(import.meta.dirname, '../models/brown-4m');
  const info = async (marker?: unknown) => {
    const store = new MemoryStore();
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      await store.put(`models/brown-4m/${f}`, new Uint8Array(readFileSync(join(dir, f))));
    if (marker) await store.put('models/brown-4m/tailor-package.json', bytes(JSON.stringify(marker)));
    return loadModelInfo(store, 'models/brown-4m/');
  };

  it('is its folder’s name, with the weights’ hash its publisher recorded in the marker', async () => {
    const m = await info({ id: 'brown-4m', hash: HASH, packageHash: 'x', files: [] });
    expect(m).toMatchObject({ id: 'brown-4m', prefix: 'models/brown-4m/', hash: HASH });
    expect((await info()).hash).toBeUndefined();
    await expect(info({ id: 'brown-4m' })).rejects.toThrow(/names no weights hash/);
  });
});
