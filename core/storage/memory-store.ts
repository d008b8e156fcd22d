// An in-memory BlobStore (Web APIs only): for tests, workers without a bucket, and as the reference driver
// the shared contract suite is checked against. Bytes are copied in and out, so callers cannot mutate
// what is stored.
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  type BlobInfo,
  type BlobStore,
  type BlobStream,
  type ByteRange,
  rangeWithin,
} from './store.js';

/** A stream hands out copies of this much at a time, as the consumer pulls: a reader holds one chunk, not the object. */
const CHUNK_BYTES = 64 * 1024;

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

  async getStream(key: string, range?: ByteRange): Promise<BlobStream | null> {
    assertValidKey(key);
    assertValidRange(range);
    const e = this.entries.get(key);
    if (!e) return null;
    const span = rangeWithin(range, e.bytes.byteLength);
    // The entry's bytes are never written to (an overwrite replaces the entry), so the stream may read them later.
    const bytes = e.bytes;
    let at = span?.start ?? 0;
    const end = span ? span.end + 1 : bytes.byteLength;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (at >= end) return controller.close();
          const n = Math.min(CHUNK_BYTES, end - at);
          controller.enqueue(bytes.slice(at, at + n));
          at += n;
        },
      },
      { highWaterMark: 0 },
    );
    return { body, size: bytes.byteLength, ...(span ? { range: span } : {}) };
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
