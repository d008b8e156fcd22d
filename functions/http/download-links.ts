// Download links for stored files. S3-compatible stores sign their own URLs; a local store cannot serve HTTP,
// so the app signs a link to its own /v1/files route (HMAC of key, expiry and, when known, the content's
// SHA-256). A link that names a hash is immutable: the route answers 410 once the file's bytes differ.

import type { BlobStore } from '../../core/storage/store.js';
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

/** Digests of immutable files (adapter versions), per store: a version's files never change once published. */
type Digest = { sha256: string; size: number };
const digests = new WeakMap<BlobStore, Map<string, Promise<Digest | null>>>();
const MAX_DIGESTS = 10_000;

function digestOf(store: BlobStore, key: string): Promise<Digest | null> {
  const byKey = digests.get(store) ?? new Map<string, Promise<Digest | null>>();
  digests.set(store, byKey);
  let hit = byKey.get(key);
  if (!hit) {
    hit = store
      .get(key)
      .then(async (bytes) => (bytes ? { sha256: await sha256Hex(bytes), size: bytes.length } : null));
    if (byKey.size >= MAX_DIGESTS) byKey.clear();
    byKey.set(key, hit);
    hit.then(
      (d) => d ?? byKey.delete(key),
      () => byKey.delete(key),
    );
  }
  return hit;
}

/**
 * Signed, content-hashed links of the files `names` under `prefix` that exist. `known` gives digests already
 * at hand (the base model's marker records them); the others are read and hashed once per store and key.
 */
export async function linkFiles(
  store: BlobStore,
  secret: string,
  origin: string,
  prefix: string,
  names: readonly string[],
  ttlSeconds: number,
  nowMs: number,
  known: Record<string, { sha256: string; size: number }> = {},
): Promise<LinkedFile[]> {
  const out = await Promise.all(
    names.map(async (name): Promise<LinkedFile | null> => {
      const key = prefix + name;
      const d = known[name] ?? (await digestOf(store, key));
      if (!d) return null;
      const link = await downloadLink(store, secret, origin, key, ttlSeconds, nowMs, d.sha256);
      return { name, ...link, sha256: d.sha256, size: d.size };
    }),
  );
  return out.filter((f): f is LinkedFile => f !== null);
}
