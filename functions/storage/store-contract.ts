// The behaviour every BlobStore driver shares, as one vitest suite: each driver's test file only builds its
// store and calls `blobStoreContract` (memory, file, S3 all run the same checks).
import { describe, expect, it } from 'vitest';
import { type BlobStore, StorageError } from './store.js';

export function blobStoreContract(name: string, make: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    const bytes = (s: string) => new TextEncoder().encode(s);

    it('puts, gets, heads and deletes', async () => {
      const s = await make();
      expect(await s.get('a/b.bin')).toBeNull();
      expect(await s.head('a/b.bin')).toBeNull();
      await s.put('a/b.bin', bytes('hello'));
      expect(new TextDecoder().decode((await s.get('a/b.bin')) ?? new Uint8Array())).toBe('hello');
      expect((await s.head('a/b.bin'))?.size).toBe(5);
      await s.put('a/b.bin', bytes('hi'));
      expect((await s.head('a/b.bin'))?.size).toBe(2);
      await s.delete('a/b.bin');
      expect(await s.get('a/b.bin')).toBeNull();
      await s.delete('a/b.bin'); // deleting a missing key is fine
    });

    it('lists by prefix in key order', async () => {
      const s = await make();
      for (const k of ['x/2', 'x/1', 'x/sub/3', 'xy/4', 'z/5']) await s.put(k, bytes(k));
      expect((await s.list('x/')).map((i) => i.key)).toEqual(['x/1', 'x/2', 'x/sub/3']);
      expect((await s.list('x')).map((i) => i.key)).toEqual(['x/1', 'x/2', 'x/sub/3', 'xy/4']);
      expect((await s.list('')).length).toBe(5);
      expect(await s.list('nothing/')).toEqual([]);
    });

    it('stores a copy of the bytes', async () => {
      const s = await make();
      const b = bytes('abc');
      await s.put('k', b);
      b[0] = 0;
      const got = await s.get('k');
      expect(got?.[0]).toBe(97);
    });

    it('refuses keys that could escape', async () => {
      const s = await make();
      for (const k of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', '', './a']) {
        await expect(s.put(k, bytes('x'))).rejects.toThrow(StorageError);
        await expect(s.get(k)).rejects.toThrow(StorageError);
      }
    });
  });
}
