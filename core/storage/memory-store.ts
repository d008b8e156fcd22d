// An in-memory BlobStore (Web APIs only): for tests, workers without a bucket, and as the reference driver
// the shared contract suite is checked against. Bytes are copied in and out, so callers cannot mutate
// what is stored.
import { assertValidKey, assertValidPrefix, type BlobInfo, type BlobStore } from './store.js';

interface Entry {
  bytes: Uint8Array;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export class MemoryStore implements BlobStore {
  private readonly entries = new Map<string, Entry>();

  async get(key: string): Promise<Uint8Array | null> {
    assertValidKey(key);
    const e = this.entries.get(key);
    return e ? e.bytes.slice() : null;
  }

  async put(key: string, bytes: Uint8Array, opts: { contentType?: string } = {}): Promise<void> {
    assertValidKey(key);
    const copy = bytes.slice();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', copy));
    const etag = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
    this.entries.set(key, {
      bytes: copy,
      contentType: opts.contentType ?? 'application/octet-stream',
      etag,
      lastModified: new Date(),
    });
  }

  async head(key: string): Promise<BlobInfo | null> {
    assertValidKey(key);
    const e = this.entries.get(key);
    return e ? info(key, e) : null;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidPrefix(prefix);
    return [...this.entries.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => info(k, this.entries.get(k) as Entry));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    this.entries.delete(key);
  }

  /**
   * A `data:` URL of the object: it downloads without credentials anywhere `fetch` runs, but does not
   * expire (there is no server to enforce it). Fine for tests and small adapters; not for production.
   */
  async signedUrl(key: string, _expiresInSeconds: number): Promise<string> {
    assertValidKey(key);
    const e = this.entries.get(key);
    if (!e) throw new Error(`no object at ${key}`);
    let bin = '';
    for (let i = 0; i < e.bytes.length; i += 0x8000) {
      bin += String.fromCharCode(...e.bytes.subarray(i, i + 0x8000));
    }
    return `data:${e.contentType};base64,${btoa(bin)}`;
  }
}

function info(key: string, e: Entry): BlobInfo {
  return { key, size: e.bytes.byteLength, etag: e.etag, lastModified: e.lastModified };
}
