// The production storage driver: any S3 API (AWS S3, Cloudflare R2, MinIO) through @aws-sdk/client-s3.
// Runs on Node and on Workers. Missing objects are null (NoSuchKey / 404), not errors; list follows
// continuation tokens; signedUrl is a SigV4 presigned GET that needs no credentials until it expires.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  type BlobInfo,
  type BlobStore,
  type BlobStream,
  type ByteRange,
  RangeNotSatisfiableError,
  StorageError,
} from './store.js';

export interface S3StoreOptions {
  bucket: string;
  /** AWS region; R2 takes `auto`. Default `us-east-1`. */
  region?: string;
  /** Service URL for R2, MinIO or a local server; absent for AWS S3. */
  endpoint?: string;
  /** Bucket in the path (`endpoint/bucket/key`) instead of the host name: MinIO and local servers. */
  forcePathStyle?: boolean;
  /** Absent: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1000). */
  listPageSize?: number;
  /**
   * Milliseconds to connect, and then for each response, before a request fails (and the SDK retries it, up to
   * its three attempts). Default 10 s; without one a storage server that stops answering holds a request forever.
   */
  timeoutMs?: number;
}

/** SigV4 presigned URLs live at most 7 days. */
const MAX_SIGNED_SECONDS = 7 * 24 * 3600;

export class S3Store implements BlobStore {
  readonly bucket: string;
  readonly client: S3Client;
  private readonly listPageSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.listPageSize = opts.listPageSize ?? 1000;
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      // A copy: the SDK writes into the credentials object, and the configuration's is frozen.
      ...(opts.credentials ? { credentials: { ...opts.credentials } } : {}),
      // Checksums only where the API requires them: several S3-compatible services (older MinIO, R2,
      // local servers) refuse or mangle the SDK's default CRC32 trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        requestTimeout: opts.timeoutMs ?? 10_000,
        connectionTimeout: opts.timeoutMs ?? 10_000,
      },
    });
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.Body) return new Uint8Array();
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** GetObject with a `Range` header; the SDK's body as a Web stream, read as the consumer pulls. */
  async getStream(key: string, range?: ByteRange): Promise<BlobStream | null> {
    assertValidKey(key);
    assertValidRange(range);
    const Range = range ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(Range ? { Range } : {}) }),
      );
      const body = res.Body ? res.Body.transformToWebStream() : new Blob([]).stream();
      if (!range) return { body, size: res.ContentLength ?? 0 };
      // Servers differ (s3rver reads `bytes=0-0` as `bytes=0-`, and "serves" `bytes 0-0/0` of an empty
      // object): what the body holds is checked against what was asked, and cut to it.
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
      const size = Number(m?.[3]);
      const [start, served] = [Number(m?.[1]), Number(m?.[2])];
      if (m && start >= size) {
        await body.cancel();
        throw new RangeNotSatisfiableError(size);
      }
      const end = Math.min(range.end ?? size - 1, size - 1);
      if (!m || start !== range.start || served < end) {
        await body.cancel();
        throw new StorageError(`the storage server answered another range of ${key}: ${res.ContentRange}`);
      }
      return { body: served > end ? firstBytes(body, end + 1 - start) : body, size, range: { start, end } };
    } catch (e) {
      if (isNotFound(e)) return null;
      if (isInvalidRange(e)) {
        const info = await this.head(key);
        if (!info) return null;
        throw new RangeNotSatisfiableError(info.size);
      }
      throw e;
    }
  }

  async put(key: string, bytes: Uint8Array, opts: { contentType?: string } = {}): Promise<void> {
    assertValidKey(key);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: opts.contentType ?? 'application/octet-stream',
      }),
    );
  }

  async head(key: string): Promise<BlobInfo | null> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: res.ContentLength ?? 0,
        ...(res.ETag ? { etag: res.ETag } : {}),
        ...(res.LastModified ? { lastModified: res.LastModified } : {}),
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidPrefix(prefix);
    const out: BlobInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.listPageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({
          key: o.Key,
          size: o.Size ?? 0,
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { lastModified: o.LastModified } : {}),
        });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    // S3 lists in UTF-8 byte order; the interface promises key order as JS compares strings.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    assertValidKey(key);
    const expiresIn = Math.max(1, Math.min(MAX_SIGNED_SECONDS, Math.floor(expiresInSeconds)));
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn });
  }
}

/** The first `n` bytes of `body`; the rest is cancelled. */
function firstBytes(body: ReadableStream<Uint8Array>, n: number): ReadableStream<Uint8Array> {
  let left = n;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= part.length;
        controller.enqueue(part);
        if (left === 0) controller.terminate();
      },
    }),
  );
}

/** S3 answers 416 InvalidRange to a range that starts past the end (any range of an empty object). */
function isInvalidRange(e: unknown): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | null;
  return (
    err?.name === 'InvalidRange' || err?.Code === 'InvalidRange' || err?.$metadata?.httpStatusCode === 416
  );
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | null;
  return (
    err?.name === 'NoSuchKey' ||
    err?.name === 'NotFound' ||
    err?.Code === 'NoSuchKey' ||
    err?.$metadata?.httpStatusCode === 404
  );
}
