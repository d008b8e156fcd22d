// The shared BlobStore suite on the in-memory driver (its signed URLs are data: URLs, which fetch reads).
import { expect, it } from 'vitest';
import { MemoryStore } from './memory-store.js';
import { blobStoreSuite } from './store-suite.js';

blobStoreSuite('memory', async () => new MemoryStore());

it('signedUrl is a data: URL that fetch can read', async () => {
  const s = new MemoryStore();
  await s.put('a', new Uint8Array([1, 2, 3]));
  const res = await fetch(await s.signedUrl('a', 60));
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
});
