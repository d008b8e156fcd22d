// What every BlobStore driver must do, as one vitest suite: each driver's test file only builds its store and
// calls `blobStoreSuite` (memory, file, S3, R2 run the same checks). Byte-exact round trips, copies, overwrite,
// listing by prefix with folder boundaries, missing keys, invalid keys and prefixes on every method, streamed
// reads (whole, byte ranges, past the end, a consumer that stops early), and a signed URL that really
// downloads the object.

import { describe, expect, it } from 'vitest';
import { deletePrefix } from './delete-prefix.js';
import { type BlobStore, type BlobStream, RangeNotSatisfiableError, StorageError } from './store.js';

export interface BlobStoreSuiteOptions {
  /**
   * How to download a signed URL: 'fetch' (HTTP, or a data: URL) by default; a function for URLs fetch
   * cannot read (the file driver's file://); false where a driver has no signed URLs to check.
   */
  readSignedUrl?: 'fetch' | ((url: string) => Promise<Uint8Array>) | false;
  /**
   * Checks a driver is known to fail, run as `it.fails`: the suite turns red once the driver is fixed,
   * so the entry gets removed. Each entry must name a bug to fix, not a behaviour to keep.
   */
  knownBugs?: 'prefix-get'[];
}

const text = (s: string) => new TextEncoder().encode(s);
const keysOf = async (s: BlobStore, prefix: string) => (await s.list(prefix)).map((b) => b.key);

/** Byte equality without a deep-equality diff (slow on megabytes). */
function expectSameBytes(got: Uint8Array | null, want: Uint8Array): void {
  expect(got).not.toBeNull();
  const g = got as Uint8Array;
  expect(g.length).toBe(want.length);
  let firstDiff = -1;
  for (let i = 0; i < want.length && firstDiff < 0; i++) if (g[i] !== want[i]) firstDiff = i;
  expect(firstDiff).toBe(-1);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET signed URL: HTTP ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Every chunk of a stream, concatenated, and how many chunks there were. */
async function drain(got: BlobStream | null): Promise<{ bytes: Uint8Array; chunks: number }> {
  expect(got).not.toBeNull();
  const parts: Uint8Array[] = [];
  for await (const chunk of (got as BlobStream).body) parts.push(chunk);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, chunks: parts.length };
}

export function blobStoreSuite(
  name: string,
  make: () => Promise<BlobStore>,
  opts: BlobStoreSuiteOptions = {},
): void {
  describe(`BlobStore suite: ${name}`, () => {
    it('round-trips every byte value and a 1 MiB object exactly', async () => {
      const s = await make();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
      await s.put('bin/all', all);
      await s.put('bin/big', big, { contentType: 'application/octet-stream' });
      expectSameBytes(await s.get('bin/all'), all);
      expectSameBytes(await s.get('bin/big'), big);
      expect((await s.head('bin/big'))?.size).toBe(big.length);
      await s.put('bin/empty', new Uint8Array());
      expect(await s.get('bin/empty')).toEqual(new Uint8Array());
      expect((await s.head('bin/empty'))?.size).toBe(0);
    });

    it('stores a copy of the bytes, and hands out copies', async () => {
      const s = await make();
      const b = text('abc');
      await s.put('copy/k', b);
      b[0] = 0;
      const got = (await s.get('copy/k')) as Uint8Array;
      expect(got[0]).toBe(97);
      got[1] = 0;
      expect(new TextDecoder().decode((await s.get('copy/k')) ?? undefined)).toBe('abc');
    });

    it('lists by prefix in key order, a prefix being any beginning of a key', async () => {
      const s = await make();
      for (const k of ['x/2', 'x/1', 'x/sub/3', 'xy/4', 'z/5']) await s.put(k, text(k));
      expect(await keysOf(s, 'x/')).toEqual(['x/1', 'x/2', 'x/sub/3']);
      expect(await keysOf(s, 'x')).toEqual(['x/1', 'x/2', 'x/sub/3', 'xy/4']);
      expect(await keysOf(s, '')).toHaveLength(5);
      expect(await s.list('nothing/')).toEqual([]);
    });

    it('overwrites in place: the newest bytes win and the key is listed once', async () => {
      const s = await make();
      await s.put('o/k.json', text('{"v":1}'), { contentType: 'application/json' });
      await s.put('o/k.json', text('{"v":22}'), { contentType: 'application/json' });
      expect(new TextDecoder().decode((await s.get('o/k.json')) ?? undefined)).toBe('{"v":22}');
      const listed = await s.list('o/');
      expect(listed.map((b) => [b.key, b.size])).toEqual([['o/k.json', 8]]);
      const head = await s.head('o/k.json');
      expect(head?.key).toBe('o/k.json');
      expect(head?.size).toBe(8);
    });

    it('lists nested keys by plain string prefix, with folder boundaries respected by a trailing /', async () => {
      const s = await make();
      const keys = [
        'adapters/app1/u1/v1/adapter_config.json',
        'adapters/app1/u1/v1/adapter_model.safetensors',
        'adapters/app1/u1/v2/tailor.json',
        'adapters/app1/u10/v1/tailor.json',
        'adapters/app10/u1/v1/tailor.json',
        'adapters/app1.bak',
        'models/brown-4m/model.onnx',
      ];
      for (const k of [...keys].reverse()) await s.put(k, text(k));
      expect(await keysOf(s, 'adapters/app1/u1/')).toEqual(keys.slice(0, 3));
      expect(await keysOf(s, 'adapters/app1/u1')).toEqual(keys.slice(0, 4));
      expect(await keysOf(s, 'adapters/app1/u1/v1/')).toEqual(keys.slice(0, 2));
      expect(await keysOf(s, 'adapters/app1/')).toEqual(keys.slice(0, 4));
      expect(await keysOf(s, 'adapters/app1')).toEqual([keys[5], ...keys.slice(0, 5)].sort());
      expect(await keysOf(s, 'adapters/app1/u1/v1/adapter_config.json')).toEqual([keys[0]]);
      for (const b of await s.list('adapters/app1/u1/v1/')) expect(b.size).toBe(b.key.length);
      expect(await keysOf(s, '')).toEqual([...keys].sort());
    });

    it('treats missing keys as absent, not as errors', async () => {
      const s = await make();
      expect(await s.get('none/here')).toBeNull();
      expect(await s.head('none/here')).toBeNull();
      await s.delete('none/here');
      expect(await s.list('none/')).toEqual([]);
      await s.put('none/sibling', text('x'));
      expect(await s.get('none/here')).toBeNull();
    });

    it('streams a whole object: every byte, its size, no range', async () => {
      const s = await make();
      const big = Uint8Array.from({ length: (1 << 20) + 17 }, (_, i) => (i * 2654435761) >>> 24);
      await s.put('stream/big', big);
      const got = await s.getStream('stream/big');
      expect(got?.size).toBe(big.length);
      expect(got?.range).toBeUndefined();
      expectSameBytes((await drain(got)).bytes, big);
      await s.put('stream/empty', new Uint8Array());
      const empty = await s.getStream('stream/empty');
      expect(empty?.size).toBe(0);
      expect((await drain(empty)).bytes.length).toBe(0);
    });

    it('streams byte ranges, both ends inclusive, an end past the object clamped to its last byte', async () => {
      const s = await make();
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
      await s.put('stream/r', bytes);
      for (const [range, start, end] of [
        [{ start: 0, end: 0 }, 0, 0],
        [{ start: 10, end: 19 }, 10, 19],
        [{ start: 990 }, 990, 999],
        [{ start: 999, end: 999 }, 999, 999],
        [{ start: 500, end: 5000 }, 500, 999],
        [{ start: 0 }, 0, 999],
      ] as const) {
        const got = await s.getStream('stream/r', range);
        expect(got?.size, JSON.stringify(range)).toBe(1000);
        expect(got?.range, JSON.stringify(range)).toEqual({ start, end });
        expectSameBytes((await drain(got)).bytes, bytes.subarray(start, end + 1));
      }
    });

    it('refuses a range that starts at or past the end, naming the size; a missing key is null', async () => {
      const s = await make();
      await s.put('stream/p', text('abc'));
      await s.put('stream/e', new Uint8Array());
      for (const [key, range, size] of [
        ['stream/p', { start: 3 }, 3],
        ['stream/p', { start: 50, end: 60 }, 3],
        ['stream/e', { start: 0 }, 0],
      ] as const) {
        const err = await s.getStream(key, range).catch((e: unknown) => e);
        expect(err, `${key} ${JSON.stringify(range)}`).toBeInstanceOf(RangeNotSatisfiableError);
        expect((err as RangeNotSatisfiableError).size).toBe(size);
      }
      expect(await s.getStream('stream/none')).toBeNull();
      expect(await s.getStream('stream/none', { start: 0, end: 9 })).toBeNull();
      for (const range of [{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }]) {
        await expect(s.getStream('stream/p', range), JSON.stringify(range)).rejects.toThrow(StorageError);
      }
    });

    it('hands a large object out in chunks, and a consumer may stop early', async () => {
      const s = await make();
      const big = new Uint8Array(4 << 20).fill(9);
      await s.put('stream/chunks', big);
      const { chunks } = await drain(await s.getStream('stream/chunks'));
      expect(chunks).toBeGreaterThan(1);
      const got = (await s.getStream('stream/chunks')) as BlobStream;
      const reader = got.body.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      expect((first.value as Uint8Array).length).toBeLessThan(big.length);
      await reader.cancel();
      // The object is untouched and readable again, and deleting it is not blocked by the stopped stream.
      expect((await drain(await s.getStream('stream/chunks', { start: big.length - 1 }))).bytes).toEqual(
        Uint8Array.of(9),
      );
      await s.delete('stream/chunks');
      expect(await s.getStream('stream/chunks')).toBeNull();
    });

    const prefixGet = opts.knownBugs?.includes('prefix-get') ? it.fails : it;
    prefixGet('reads a key that is only a prefix of other keys as missing', async () => {
      const s = await make();
      await s.put('dir/child', text('x'));
      expect(await s.head('dir')).toBeNull();
      expect(await s.get('dir')).toBeNull();
      expect(await s.getStream('dir')).toBeNull();
    });

    it('deletes one object and leaves its siblings; deletePrefix empties a folder only', async () => {
      const s = await make();
      for (const k of ['d/u1/a', 'd/u1/b', 'd/u1/sub/c', 'd/u10/a', 'd/u2/a']) await s.put(k, text(k));
      await s.delete('d/u1/a');
      expect(await keysOf(s, 'd/u1/')).toEqual(['d/u1/b', 'd/u1/sub/c']);
      expect(await deletePrefix(s, 'd/u1/')).toBe(2);
      expect(await keysOf(s, 'd/')).toEqual(['d/u10/a', 'd/u2/a']);
      await expect(deletePrefix(s, 'd/u1')).rejects.toThrow(StorageError);
    });

    it('refuses invalid keys on every method', async () => {
      const s = await make();
      for (const k of ['', '/abs', 'a//b', 'a/./b', 'a/../b', '..', 'a\\b', 'nul\0byte', 'x'.repeat(1025)]) {
        await expect(s.put(k, text('x')), k).rejects.toThrow(StorageError);
        await expect(s.get(k), k).rejects.toThrow(StorageError);
        await expect(s.getStream(k), k).rejects.toThrow(StorageError);
        await expect(s.head(k), k).rejects.toThrow(StorageError);
        await expect(s.delete(k), k).rejects.toThrow(StorageError);
        await expect(s.signedUrl(k, 60), k).rejects.toThrow(StorageError);
      }
      expect(await s.list('')).toEqual([]);
    });

    it('refuses list prefixes that could leave the namespace', async () => {
      const s = await make();
      for (const p of ['/', '/abs', '../', 'a/../', 'a/./', './', 'a//', 'a\\b', 'nul\0']) {
        await expect(s.list(p), p).rejects.toThrow(StorageError);
      }
    });

    const read = opts.readSignedUrl ?? 'fetch';
    it.skipIf(read === false)('signs a URL that downloads the object without credentials', async () => {
      const s = await make();
      const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
      await s.put('adapters/a/u/v1/adapter_model.safetensors', bytes);
      const url = await s.signedUrl('adapters/a/u/v1/adapter_model.safetensors', 300);
      const reader = read === 'fetch' ? fetchBytes : (read as (url: string) => Promise<Uint8Array>);
      expectSameBytes(await reader(url), bytes);
    });
  });
}
