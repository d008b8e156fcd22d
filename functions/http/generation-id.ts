// Generation ids carry a MAC of (app, id, user) under a key only the platform holds, derived from its URL
// secret (TAILOR_URL_SECRET, or the one kept in the data dir) for this one purpose. Feedback can then tell an
// id this app issued to this user — also after the generation was erased — from one it never issued (another
// app's, another user's, or made up), without a database read. Apps never see the key, so no secret an app
// holds (and might leak) can forge ids.
//
// Ids issued before were tagged under the app's original signing secret, which a rotation never changes: a
// leaked one would forge ids for ever. For one release such a legacy tag still passes, but only for a
// generation that exists (the caller reads its row); drop `legacy` in the release after.

import { newId, timingSafeEqual } from '../../core/db/ids.js';
import { base64UrlEncode } from '../../core/util/encoding.js';
import { hmacSha256 } from '../auth/hmac.js';

const TAG_CHARS = 16; // 96 bits
const PURPOSE = 'tailor generation ids v1';

const tagOf = async (key: string, message: string) =>
  base64UrlEncode(await hmacSha256(key, message)).slice(0, TAG_CHARS);

/** The tag ids were issued with before: the app's signing secret over (id, user). */
export const legacyTag = (signingSecret: string, id: string, userId: string) =>
  tagOf(signingSecret, `generation:${id}:${userId}`);

/** How an id checks out: issued by this platform, tagged the legacy way (trust only an existing row), or not. */
export type GenerationIdCheck = 'issued' | 'legacy' | null;

export class GenerationIds {
  private key: Promise<string> | undefined;

  constructor(private readonly platformSecret: string) {}

  private tag(appId: string, id: string, userId: string): Promise<string> {
    this.key ??= hmacSha256(this.platformSecret, PURPOSE).then(base64UrlEncode);
    return this.key.then((key) => tagOf(key, `generation:${appId}:${id}:${userId}`));
  }

  async mint(appId: string, userId: string, now?: number): Promise<string> {
    const id = newId('gen', now);
    return `${id}.${await this.tag(appId, id, userId)}`;
  }

  async check(
    app: { id: string; signingSecret: string },
    generationId: string,
    userId: string,
  ): Promise<GenerationIdCheck> {
    const dot = generationId.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = generationId.slice(0, dot);
    const tag = generationId.slice(dot + 1);
    if (timingSafeEqual(tag, await this.tag(app.id, id, userId))) return 'issued';
    return timingSafeEqual(tag, await legacyTag(app.signingSecret, id, userId)) ? 'legacy' : null;
  }
}
