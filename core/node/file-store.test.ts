import { mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../storage/store.js';
import { blobStoreSuite } from '../storage/store-suite.js';
import { FileStore } from './file-store.js';

const fresh = async () => new FileStore(await mkdtemp(join(tmpdir(), 'tailor-fs-')));

// The shared suite; file:// signed URLs are read from the file system, not with fetch.
blobStoreSuite('file', fresh, {
  readSignedUrl: async (url) => new Uint8Array(await readFile(fileURLToPath(url))),
});

describe('FileStore', () => {
  it('refuses keys that resolve outside the root, and the temp-file marker', async () => {
    const s = await fresh();
    await expect(s.put('a/../../outside', new Uint8Array(1))).rejects.toThrow(StorageError);
    await expect(s.put('a/.tailor-tmp-x', new Uint8Array(1))).rejects.toThrow(StorageError);
    await expect(s.list('../')).rejects.toThrow(StorageError);
    expect(await readdir(join(s.root, '..'))).not.toContain('outside');
  });

  it('put replaces atomically: a temp file renamed over, none left behind', async () => {
    const s = await fresh();
    await s.put('m/w.bin', new Uint8Array(1000).fill(1));
    const big = new Uint8Array(1 << 20).fill(2);
    // Readers racing the put see either the old or the new object, never a mix or a short file.
    const reads = Array.from({ length: 20 }, () => s.get('m/w.bin'));
    await s.put('m/w.bin', big);
    for (const r of await Promise.all(reads)) {
      expect(r).not.toBeNull();
      const b = r as Uint8Array;
      expect(
        b.length === 1000 ? b.every((x) => x === 1) : b.length === big.length && b.every((x) => x === 2),
      ).toBe(true);
    }
    expect(await readdir(join(s.root, 'm'))).toEqual(['w.bin']);
  });

  it('a stream begun before a put goes on with the bytes it started with', async () => {
    const s = await fresh();
    const old = new Uint8Array(300_000).fill(1);
    await s.put('m/w.bin', old);
    const got = await s.getStream('m/w.bin');
    await s.put('m/w.bin', new Uint8Array(10).fill(2));
    const parts: Uint8Array[] = [];
    for await (const chunk of got?.body ?? []) parts.push(chunk);
    expect(got?.size).toBe(old.length);
    expect(Buffer.concat(parts).equals(Buffer.from(old))).toBe(true);
  });

  it('does not list temp files of unfinished puts', async () => {
    const s = await fresh();
    await s.put('p/a', new Uint8Array(1));
    await writeFile(join(s.root, 'p', '.tailor-tmp-123'), 'partial');
    expect((await s.list('p/')).map((i) => i.key)).toEqual(['p/a']);
  });

  it('signedUrl is a file:// URL of the object', async () => {
    const s = await fresh();
    await s.put('d/x.json', new TextEncoder().encode('{}'));
    const url = await s.signedUrl('d/x.json', 60);
    expect(url.startsWith('file://')).toBe(true);
    expect(await readFile(fileURLToPath(url), 'utf8')).toBe('{}');
  });

  it('a key that is only a prefix of other keys (a directory) reads as missing', async () => {
    const s = await fresh();
    await s.put('dir/child', new Uint8Array(1));
    expect(await s.get('dir')).toBeNull();
    expect(await s.head('dir')).toBeNull();
  });

  it('delete removes emptied directories', async () => {
    const s = await fresh();
    await s.put('u/1/v/a', new Uint8Array(1));
    await s.delete('u/1/v/a');
    expect(await readdir(s.root)).toEqual([]);
  });

  it('ignores symlinked directories when listing', async () => {
    const s = await fresh();
    const other = await mkdtemp(join(tmpdir(), 'tailor-other-'));
    await writeFile(join(other, 'secret'), 'x');
    await symlink(other, join(s.root, 'link'));
    expect(await s.list('')).toEqual([]);
  });
});
