// The S3 driver against a real S3-protocol server over HTTP (s3rver on 127.0.0.1, signatures checked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3TestServer, startS3Server } from '../../test/support/s3.js';
import { S3Store } from './s3-store.js';
import { blobStoreSuite } from './store-suite.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});

blobStoreSuite('S3 (s3rver over HTTP)', () => server.newStore());

describe('S3Store', () => {
  it('follows list continuation tokens across pages', async () => {
    const s = await server.newStore({ listPageSize: 2 });
    const keys = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5'];
    for (const k of keys) await s.put(k, new Uint8Array([1]));
    expect((await s.list('p/')).map((b) => b.key)).toEqual(keys);
  });

  it('signed URLs are checked by the server: a tampered or expired one is refused', async () => {
    const s = await server.newStore();
    await s.put('k', new Uint8Array([1, 2, 3]));
    const url = new URL(await s.signedUrl('k', 1));
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    expect((await fetch(tampered)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(url)).status).toBe(403);
  });

  it('reports server errors other than a missing object', async () => {
    const s = new S3Store({
      bucket: 'no-such-bucket',
      endpoint: server.endpoint,
      credentials: server.credentials,
      forcePathStyle: true,
    });
    await expect(s.put('k', new Uint8Array([1]))).rejects.toThrow();
  });
});

describe('S3Store options', () => {
  it('accepts frozen credentials (the configuration is deep-frozen; the SDK writes into them)', async () => {
    const credentials = Object.freeze({ accessKeyId: 'a', secretAccessKey: 'b' });
    const store = new S3Store({
      bucket: 'b',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials,
    });
    await expect(store.get('k')).rejects.not.toThrow(/Cannot set properties/);
  });
});
