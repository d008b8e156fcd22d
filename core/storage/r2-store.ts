// A BlobStore over a Cloudflare R2 bucket binding (`env.MODELS` in a Worker): no credentials, no HTTP
// client, Web APIs only. Missing objects are null; list follows R2's cursor until the listing is no longer
// truncated and answers in key order as JS compares strings (the interface's order), like the S3 driver.
//
// signedUrl: an R2 binding cannot presign, so this driver throws a StorageError that says so. Where apps
// need download links (`GET /v1/users/{user}/adapter`), either configure the S3 API driver (`s3-store.ts` on
// R2's S3 endpoint, with an R2 API token), or let the app serve the object through its own HMAC-signed
// route (`functions/http/download-links.ts` falls back to that when `signedUrl` fails).
//
// The R2 types are declared here, narrowed to what the driver uses, so nothing depends on
// @cloudflare/workers-types: a real binding (and Miniflare's `getR2Bucket`) satisfies them structurally.
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  type BlobInfo,
  type BlobStore,
  type BlobStream,
  type ByteRange,
  RangeNotSatisfiableError,
  rangeWithin,
  StorageError,
} from './store.js';

export interface R2Object {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly uploaded: Date;
}

export interface R2ObjectBody extends R2Object {
  readonly body: ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Bytes from `offset`, `length` of them (to the end without one). */
export interface R2Range {
  offset: number;
  length?: number;
}

export interface R2Objects {
  objects: R2Object[];
  truncated: boolean;
  /** Present when `truncated`. */
  cursor?: string;
}

export interface R2Bucket {
  head(key: string): Promise<R2Object | null>;
  get(key: string, options?: { range?: R2Range }): Promise<R2ObjectBody | null>;
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView | string | null,
    options?: { httpMetadata?: { contentType?: string } },
  ): Promise<R2Object | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<R2Objects>;
}

export interface R2StoreOptions {
  /** Keys per list page: 1..1000 (R2's maximum and default: 1000). */
  listPageSize?: number;
}

export class R2Store implements BlobStore {
  private readonly listPageSize: number;

  constructor(
    readonly bucket: R2Bucket,
    opts: R2StoreOptions = {},
  ) {
    const n = opts.listPageSize ?? 1000;
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      throw new RangeError(`listPageSize must be an integer in 1..1000, got ${n}`);
    this.listPageSize = n;
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertValidKey(key);
    const obj = await this.bucket.get(key);
    return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
  }

  /**
   * The binding's own range read (R2 clamps a length past the end). R2 throws on a range that starts at or
   * past the end, which only a head then tells apart from a failing bucket.
   */
  async getStream(key: string, range?: ByteRange): Promise<BlobStream | null> {
    assertValidKey(key);
    assertValidRange(range);
    let obj: R2ObjectBody | null;
    try {
      obj = await this.bucket.get(
        key,
        range
          ? {
              range: {
                offset: range.start,
                ...(range.end !== undefined ? { length: range.end - range.start + 1 } : {}),
              },
            }
          : undefined,
      );
    } catch (e) {
      const head = range ? await this.bucket.head(key) : undefined;
      if (head === null) return null;
      if (head && range && range.start >= head.size) throw new RangeNotSatisfiableError(head.size);
      throw e;
    }
    if (!obj) return null;
    return { body: obj.body, size: obj.size, ...(range ? { range: rangeWithin(range, obj.size) } : {}) };
  }

  async put(key: string, bytes: Uint8Array, opts: { contentType?: string } = {}): Promise<void> {
    assertValidKey(key);
    // A plain Uint8Array copy of exactly the view's bytes: the binding may read the whole underlying buffer
    // otherwise, the caller may reuse its buffer as soon as we return, and a Node Buffer (whose slice() is
    // a view) would not survive Miniflare's serialisation.
    await this.bucket.put(key, new Uint8Array(bytes), {
      httpMetadata: { contentType: opts.contentType ?? 'application/octet-stream' },
    });
  }

  async head(key: string): Promise<BlobInfo | null> {
    assertValidKey(key);
    const obj = await this.bucket.head(key);
    return obj ? info(obj) : null;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidPrefix(prefix);
    const out: BlobInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({
        limit: this.listPageSize,
        ...(prefix ? { prefix } : {}),
        ...(cursor ? { cursor } : {}),
      });
      for (const o of page.objects) out.push(info(o));
      cursor = page.truncated ? page.cursor : undefined;
      if (page.truncated && !cursor) throw new StorageError('R2 list: truncated page without a cursor');
    } while (cursor);
    // R2 lists in UTF-8 byte order; the interface promises key order as JS compares strings.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.bucket.delete(key); // R2: deleting a missing key succeeds
  }

  /**
   * Always throws: an R2 binding has no credentials to presign with. Use the S3 API driver (`S3Store` on
   * `https://<account>.r2.cloudflarestorage.com`) for download links, or an HMAC-signed app route.
   */
  async signedUrl(key: string, _expiresInSeconds: number): Promise<string> {
    assertValidKey(key);
    throw new StorageError(
      'R2Store cannot sign URLs: an R2 bucket binding cannot presign. Configure the S3 API storage driver ' +
        "(S3Store on R2's S3 endpoint, with an R2 API token) for download links, or serve the object " +
        'through an HMAC-signed route.',
    );
  }
}

function info(o: R2Object): BlobInfo {
  return { key: o.key, size: o.size, etag: o.etag, lastModified: o.uploaded };
}
