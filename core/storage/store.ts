// Object storage as the platform sees it: immutable blobs under string keys (`models/...`, `adapters/...`).
// Drivers: a local directory (Node, the embedded default) and any S3 API (AWS S3, R2, MinIO). Web APIs only.

export interface BlobInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

export interface BlobStore {
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
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
