// The keyed hash that stands for a user once they are erased. An erasure must leave no id behind, yet two
// things have to outlive it: the user's erase epoch (a training job that read their feedback before the erasure
// must not publish after it) and the notice other processes drop their caches by. Both name the user by
// HMAC-SHA256 of (app, user) under a key derived from the platform's secret (TAILOR_URL_SECRET, or the one
// kept in the data directory): the database alone cannot tell which id an entry stands for, nor confirm a
// guess. Every process of one database must share that secret (core/db/platform-meta.ts checks at start).

import { hex } from '../util/encoding.js';
import { hmacSha256 } from '../util/hmac.js';

/** Hex HMAC of `${appId}:${userId}`: the same for every process that shares the platform secret. */
export type UserHasher = (appId: string, userId: string) => Promise<string>;

export function userHasher(platformSecret: string): UserHasher {
  // A key of its own, derived from the secret: the secret's other uses (download links) never meet this one.
  let key: Promise<string> | undefined;
  return async (appId, userId) => {
    key ??= hmacSha256(platformSecret, 'tailor:erased-users:v1').then(hex);
    return hex(await hmacSha256(await key, `${appId}:${userId}`));
  };
}
