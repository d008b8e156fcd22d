// Download links for stored files. S3-compatible stores sign their own URLs; a local store cannot serve HTTP,
// so the app signs a link to its own /v1/files route (HMAC of key, expiry and, when known, the content's
// SHA-256). A link that names a hash is immutable: the route answers 410 once the file's bytes differ.
// Which hash a file has is what its publisher recorded (an adapter package's tailor.json, the base model's
// marker), so neither a listing nor a download reads and hashes the file; only files published before these
// records existed are hashed, once per store and version of the bytes.

import { PACKAGE_MANIFEST } from '../../core/adapters/package.js';
import { type FileDigests, fileDigests, MODEL_MARKER } from '../../core/model/package-files.js';
import type { BlobInfo, BlobStore } from '../../core/storage/store.js';
import { base64UrlDecode, base64UrlEncode } from '../../core/util/encoding.js';
import { hmacSha256, hmacVerify } from '../auth/hmac.js';

export const FILES_ROUTE = '/v1/files/';

const SHA256_HEX = /^[0-9a-f]{64}$/;

const payload = (key: string, expires: number, sha256?: string) =>
  sha256 ? `download:${key}:${expires}:${sha256}` : `download:${key}:${expires}`;

export async function downloadLink(
  store: BlobStore,
  secret: string,
  origin: string,
  key: string,
  ttlSeconds: number,
  nowMs: number,
  sha256?: string,
): Promise<{ url: string; expires_at: string }> {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const expires_at = new Date(expires * 1000).toISOString();
  const own = await store.signedUrl(key, ttlSeconds).catch(() => null);
  if (own && /^https?:/.test(own)) return { url: own, expires_at };
  const sig = base64UrlEncode(await hmacSha256(secret, payload(key, expires, sha256)));
  const path = key.split('/').map(encodeURIComponent).join('/');
  const hash = sha256 ? `&sha256=${sha256}` : '';
  return { url: `${origin}${FILES_ROUTE}${path}?expires=${expires}${hash}&sig=${sig}`, expires_at };
}

/** Whether a link is genuine and unexpired; `sha256` is the hash the link names, if any. */
export async function verifyDownload(
  secret: string,
  key: string,
  expires: string | undefined,
  sig: string | undefined,
  nowMs: number,
  sha256?: string,
): Promise<boolean> {
  const t = Number(expires);
  const mac = sig ? base64UrlDecode(sig) : null;
  if (!Number.isSafeInteger(t) || t * 1000 < nowMs || !mac) return false;
  if (sha256 !== undefined && !SHA256_HEX.test(sha256)) return false;
  return hmacVerify(secret, payload(key, t, sha256), mac);
}

/** Hex SHA-256 of `bytes` (Web Crypto: Node, workerd and browsers alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface LinkedFile {
  name: string;
  url: string;
  expires_at: string;
  sha256: string;
  size: number;
}

type Digest = { sha256: string; size: number };

/**
 * The digests recorded for the files of the folder `dir` (ending in '/'): an adapter package's manifest
 * (`files`) or a base model's marker (`digests`), both small files; {} where neither records any.
 */
export async function recordedDigests(store: BlobStore, dir: string): Promise<FileDigests> {
  const [manifest, marker] = await Promise.all([
    store.get(dir + PACKAGE_MANIFEST),
    store.get(dir + MODEL_MARKER),
  ]);
  return { ...digestsIn(marker, 'digests'), ...digestsIn(manifest, 'files') };
}

function digestsIn(bytes: Uint8Array | null, field: 'files' | 'digests'): FileDigests {
  if (!bytes) return {};
  try {
    const record = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown> | null;
    const parsed = fileDigests.safeParse(record?.[field]);
    return parsed.success ? parsed.data : {};
  } catch {
    return {}; // not JSON: a damaged record is no record, and the file is hashed instead
  }
}

/** A bounded cache: cleared when full, so a long-lived process holds at most this many entries. */
const MAX_DIGESTS = 10_000;
function cached<T>(
  caches: WeakMap<BlobStore, Map<string, Promise<T | null>>>,
  store: BlobStore,
  key: string,
  make: () => Promise<T | null>,
): Promise<T | null> {
  const byKey = caches.get(store) ?? new Map<string, Promise<T | null>>();
  caches.set(store, byKey);
  let hit = byKey.get(key);
  if (!hit) {
    hit = make();
    if (byKey.size >= MAX_DIGESTS) byKey.clear();
    byKey.set(key, hit);
    // Only answers are kept: a missing file or a failed read is asked again next time.
    hit.then(
      (d) => d ?? byKey.delete(key),
      () => byKey.delete(key),
    );
  }
  return hit;
}

/** Digests of adapter versions' files, per store and key: a version's files never change once published. */
const digests = new WeakMap<BlobStore, Map<string, Promise<Digest | null>>>();

/**
 * The digest the package recorded, when the file is there at the recorded size (a head, no read); else the
 * file read and hashed (a version published before manifests recorded digests, or bytes replaced since).
 */
function digestOf(store: BlobStore, key: string, recorded: Digest | undefined): Promise<Digest | null> {
  return cached(digests, store, key, async () => {
    if (recorded && (await store.head(key))?.size === recorded.size) return recorded;
    const bytes = await store.get(key);
    return bytes ? { sha256: await sha256Hex(bytes), size: bytes.length } : null;
  });
}

/** Hashes of files without a record, per store and version of the bytes (size, etag, time): each read once. */
const hashes = new WeakMap<BlobStore, Map<string, Promise<string | null>>>();

/** The SHA-256 of the object `info` describes, read and hashed once for the same bytes. */
export function hashOnce(store: BlobStore, info: BlobInfo): Promise<string | null> {
  const version = [info.key, info.size, info.etag ?? '', info.lastModified?.getTime() ?? ''].join('\0');
  return cached(hashes, store, version, async () => {
    const bytes = await store.get(info.key);
    return bytes && bytes.length === info.size ? sha256Hex(bytes) : null;
  });
}

/**
 * Signed, content-hashed links of the files `names` under `prefix` that exist. `known` gives digests already
 * at hand (the base model's marker); then those the package recorded at publish; only files without either
 * are read and hashed (versions published before manifests recorded digests). Either is kept per store and
 * key, so the package's record is read the first time only.
 */
export async function linkFiles(
  store: BlobStore,
  secret: string,
  origin: string,
  prefix: string,
  names: readonly string[],
  ttlSeconds: number,
  nowMs: number,
  known: FileDigests = {},
): Promise<LinkedFile[]> {
  const seen = digests.get(store);
  const fresh = names.some((n) => !known[n] && !seen?.has(prefix + n));
  const recorded = fresh ? await recordedDigests(store, prefix) : {};
  const out = await Promise.all(
    names.map(async (name): Promise<LinkedFile | null> => {
      const key = prefix + name;
      const d = known[name] ?? (await digestOf(store, key, recorded[name]));
      if (!d) return null;
      const link = await downloadLink(store, secret, origin, key, ttlSeconds, nowMs, d.sha256);
      return { name, ...link, sha256: d.sha256, size: d.size };
    }),
  );
  return out.filter((f): f is LinkedFile => f !== null);
}
