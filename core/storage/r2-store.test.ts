// The shared BlobStore suite on R2Store over Miniflare's R2 emulation (workerd's implementation of the
// binding, reached from Node through `mf.getR2Bucket`). One Miniflare for the file; every store starts
// from an emptied bucket. R2 bindings cannot presign, so the signed-URL download check is off and a test
// pins the error instead.
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type R2Bucket, R2Store } from './r2-store.js';
import { StorageError } from './store.js';
import { blobStoreSuite } from './store-suite.js';

let mf: Miniflare;
let bucket: R2Bucket;

beforeAll(async () => {
  mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response("ok"); } };',
    compatibilityDate: '2025-01-01',
    r2Buckets: ['BUCKET'],
  });
  bucket = (await mf.getR2Bucket('BUCKET')) as unknown as R2Bucket;
});

afterAll(async () => {
  await mf?.dispose();
});

async function emptyStore(opts?: { listPageSize?: number }): Promise<R2Store> {
  for (;;) {
    const page = await bucket.list({ limit: 1000 });
    if (page.objects.length === 0) break;
    await bucket.delete(page.objects.map((o) => o.key));
  }
  return new R2Store(bucket, opts);
}

blobStoreSuite('r2 (miniflare)', () => emptyStore(), { readSignedUrl: false });
// Small pages: every listing above crosses several cursors.
blobStoreSuite('r2 (miniflare), 2 keys per list page', () => emptyStore({ listPageSize: 2 }), {
  readSignedUrl: false,
});

describe('R2Store', () => {
  const text = (s: string) => new TextEncoder().encode(s);

  it('follows list cursors across pages and returns every key once, in order', async () => {
    const s = await emptyStore({ listPageSize: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `p/k${String(i).padStart(2, '0')}`);
    for (const k of [...keys].reverse()) await s.put(k, text(k));
    await s.put('q/other', text('x'));
    const listed = await s.list('p/');
    expect(listed.map((b) => b.key)).toEqual(keys);
    expect(
      listed.every((b) => b.size === 5 && typeof b.etag === 'string' && b.lastModified instanceof Date),
    ).toBe(true);
  });

  it('stores exactly the bytes of a view into a larger buffer', async () => {
    const s = await emptyStore();
    const backing = Uint8Array.from({ length: 16 }, (_, i) => i);
    await s.put('v/view', backing.subarray(4, 8));
    expect(await s.get('v/view')).toEqual(Uint8Array.from([4, 5, 6, 7]));
  });

  it('keeps the content type in the object metadata', async () => {
    const s = await emptyStore();
    await s.put('c/k.json', text('{}'), { contentType: 'application/json' });
    const raw = bucket as unknown as {
      head(key: string): Promise<{ httpMetadata?: { contentType?: string } } | null>;
    };
    expect((await raw.head('c/k.json'))?.httpMetadata?.contentType).toBe('application/json');
  });

  it('refuses to sign URLs with a StorageError that points at the S3 API driver', async () => {
    const s = await emptyStore();
    await s.put('a/b', text('x'));
    const err = await s.signedUrl('a/b', 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(String((err as Error).message)).toMatch(/cannot presign.*S3 API/s);
  });

  it('refuses a list page size R2 would not accept', () => {
    expect(() => new R2Store(bucket, { listPageSize: 0 })).toThrow(RangeError);
    expect(() => new R2Store(bucket, { listPageSize: 1001 })).toThrow(RangeError);
  });
});
