// Generation ids carry a MAC of (id, user) under the app's signing secret. Feedback can then tell an id this
// app issued to this user — also after the generation was erased — from one it never issued (another
// app's, another user's, or made up), without a database read.

import { newId, timingSafeEqual } from '../../core/db/ids.js';
import { base64UrlEncode } from '../../core/util/encoding.js';
import { hmacSha256 } from '../auth/hmac.js';

const TAG_CHARS = 16; // 96 bits

async function tag(secret: string, id: string, userId: string): Promise<string> {
  return base64UrlEncode(await hmacSha256(secret, `generation:${id}:${userId}`)).slice(0, TAG_CHARS);
}

export async function newGenerationId(secret: string, userId: string, now?: number): Promise<string> {
  const id = newId('gen', now);
  return `${id}.${await tag(secret, id, userId)}`;
}

export async function isGenerationIdOf(
  secret: string,
  generationId: string,
  userId: string,
): Promise<boolean> {
  const dot = generationId.lastIndexOf('.');
  if (dot <= 0) return false;
  const expected = await tag(secret, generationId.slice(0, dot), userId);
  return timingSafeEqual(generationId.slice(dot + 1), expected);
}
