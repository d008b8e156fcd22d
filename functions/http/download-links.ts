// Download links for stored files. S3-compatible stores sign their own URLs; a local store cannot serve HTTP,
// so the app signs a link to its own /v1/files route (HMAC of key and expiry under a server secret).

import type { BlobStore } from '../../core/storage/store.js';
import { base64UrlDecode, base64UrlEncode } from '../../core/util/encoding.js';
import { hmacSha256, hmacVerify } from '../auth/hmac.js';

export const FILES_ROUTE = '/v1/files/';

const payload = (key: string, expires: number) => `download:${key}:${expires}`;

export async function downloadLink(
  store: BlobStore,
  secret: string,
  origin: string,
  key: string,
  ttlSeconds: number,
  nowMs: number,
): Promise<{ url: string; expires_at: string }> {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const expires_at = new Date(expires * 1000).toISOString();
  const own = await store.signedUrl(key, ttlSeconds).catch(() => null);
  if (own && /^https?:/.test(own)) return { url: own, expires_at };
  const sig = base64UrlEncode(await hmacSha256(secret, payload(key, expires)));
  const path = key.split('/').map(encodeURIComponent).join('/');
  return { url: `${origin}${FILES_ROUTE}${path}?expires=${expires}&sig=${sig}`, expires_at };
}

export async function verifyDownload(
  secret: string,
  key: string,
  expires: string | undefined,
  sig: string | undefined,
  nowMs: number,
): Promise<boolean> {
  const t = Number(expires);
  const mac = sig ? base64UrlDecode(sig) : null;
  if (!Number.isSafeInteger(t) || t * 1000 < nowMs || !mac) return false;
  return hmacVerify(secret, payload(key, t), mac);
}
