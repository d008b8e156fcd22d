// Object storage as the platform sees it: immutable blobs under string keys (`models/...`, `adapters/...`).
// Drivers: a local directory (Node, the embedded default) and any S3 API (AWS S3, R2, MinIO). Web APIs only.

export interface BlobInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

/** Bytes `start` through `end`, both counted from 0 and inclusive (HTTP's convention); no `end`: to the last. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobStream {
  body: ReadableStream<Uint8Array>;
  /** The whole object's size, whatever part the body holds. */
  size: number;
  /** What the body holds when a range was asked for: `end` clamped to the object's last byte. */
  range?: { start: number; end: number };
}

export interface BlobStore {
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  /**
   * The object's bytes (or a range of them) as a stream, read as the consumer pulls, so serving a large file
   * never holds all of it; null when there is none. A range that starts at or past the end (any range of an
   * empty object) rejects with RangeNotSatisfiableError. A consumer that stops early cancels the body.
   */
  getStream(key: string, range?: ByteRange): Promise<BlobStream | null>;
  put(key: string, bytes: Uint8Array, opts?: { contentType?: string }): Promise<void>;
  head(key: string): Promise<BlobInfo | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<BlobInfo[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A URL that downloads the object without credentials until it expires. */
  signedUrl(key: string, expiresInSeconds: number): Promise<string>;
}

export class StorageError extends Error {
  override name = 'StorageError';
}

/** Storage did not answer (unreachable, timed out, failing); the same read may succeed later. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailable';
}

/** A range that starts at or past the object's end: HTTP's 416, which names the object's size. */
export class RangeNotSatisfiableError extends Error {
  override name = 'RangeNotSatisfiable';
  constructor(readonly size: number) {
    super(`no byte of the range is in the object (${size} bytes)`);
  }
}

/** A range is whole byte offsets, `end` (when given) not before `start`; checked before any I/O. */
export function assertValidRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    start < 0 ||
    (end !== undefined && (!Number.isSafeInteger(end) || end < start))
  ) {
    throw new StorageError(`invalid byte range: ${JSON.stringify(range)}`);
  }
}

/** The bytes of `range` an object of `size` holds, `end` clamped to its last byte; undefined: all of it. */
export function rangeWithin(range: ByteRange, size: number): { start: number; end: number };
export function rangeWithin(
  range: ByteRange | undefined,
  size: number,
): { start: number; end: number } | undefined;
export function rangeWithin(range: ByteRange | undefined, size: number) {
  if (range === undefined) return undefined;
  if (range.start >= size) throw new RangeNotSatisfiableError(size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

/** Keys are relative paths of safe segments: no empty, `.` or `..` segment, no backslash, no leading slash. */
export function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new StorageError(`invalid storage key: ${JSON.stringify(key)}`);
  }
}

/**
 * A list prefix is a key, a key's beginning, or '' (everything): the same alphabet and no `.`/`..` segment,
 * no empty segment inside, so no driver lists outside the namespace it was given.
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const segments = prefix.split('/');
  if (segments.at(-1) === '') segments.pop(); // a folder prefix ends with '/'
  if (
    prefix.length > 1024 ||
    prefix.startsWith('/') ||
    prefix.includes('\\') ||
    prefix.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new StorageError(`invalid storage prefix: ${JSON.stringify(prefix)}`);
  }
}
