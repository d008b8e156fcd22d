import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { looksLikeJwt, signUserToken, TokenError, verifyUserToken } from './jwt.js';

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
function forge(header: object, payload: object, secret: string): string {
  const h = b64(header);
  const p = b64(payload);
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}
const now = 1_800_000_000;

describe('user tokens', () => {
  it('verifies a token it signed, and one signed by another HS256 implementation', async () => {
    const t = await signUserToken({ sub: 'reader-1', exp: now + 60 }, 's3cret', 'app_test');
    expect((await verifyUserToken(t, 's3cret', now)).sub).toBe('reader-1');
    const other = forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'reader-2', exp: now + 60 }, 's3cret');
    expect((await verifyUserToken(other, 's3cret', now)).sub).toBe('reader-2');
    expect(looksLikeJwt(t)).toBe(true);
    expect(looksLikeJwt('tlr_abc')).toBe(false);
  });

  it('tolerates the configured clock skew on exp and nbf, and no more', async () => {
    const late = await signUserToken({ sub: 'u', exp: now - 3 }, 's3cret', 'app_test');
    expect((await verifyUserToken(late, 's3cret', now, 5)).sub).toBe('u');
    await expect(verifyUserToken(late, 's3cret', now, 2)).rejects.toThrow(/expired/);
    const early = await signUserToken({ sub: 'u', exp: now + 60, nbf: now + 4 }, 's3cret', 'app_test');
    expect((await verifyUserToken(early, 's3cret', now, 5)).sub).toBe('u');
    await expect(verifyUserToken(early, 's3cret', now, 0)).rejects.toThrow(/not valid yet/);
  });

  const refused: [string, () => string, RegExp][] = [
    ['wrong secret', () => forge({ alg: 'HS256' }, { sub: 'u', exp: now + 60 }, 'other'), /signature/],
    ['alg none', () => `${b64({ alg: 'none' })}.${b64({ sub: 'u', exp: now + 60 })}.`, /HS256/],
    ['alg HS512', () => forge({ alg: 'HS512' }, { sub: 'u', exp: now + 60 }, 's3cret'), /HS256/],
    ['expired', () => forge({ alg: 'HS256' }, { sub: 'u', exp: now - 1 }, 's3cret'), /expired/],
    ['no exp', () => forge({ alg: 'HS256' }, { sub: 'u' }, 's3cret'), /exp/],
    ['string exp', () => forge({ alg: 'HS256' }, { sub: 'u', exp: String(now + 60) }, 's3cret'), /exp/],
    ['bad sub', () => forge({ alg: 'HS256' }, { sub: '../x', exp: now + 60 }, 's3cret'), /sub/],
    ['no sub', () => forge({ alg: 'HS256' }, { exp: now + 60 }, 's3cret'), /sub/],
    ['two parts', () => 'abc.def', /malformed/],
    ['payload not JSON', () => `${b64({ alg: 'HS256' })}.${b64('not json')}.xx`, /malformed|signature/],
    [
      'tampered payload',
      () => {
        const [h, , s] = forge({ alg: 'HS256' }, { sub: 'u', exp: now + 60 }, 's3cret').split('.');
        return `${h}.${b64({ sub: 'admin', exp: now + 60 })}.${s}`;
      },
      /signature/,
    ],
  ];
  for (const [name, token, message] of refused) {
    it(`refuses ${name}`, async () => {
      await expect(verifyUserToken(token(), 's3cret', now)).rejects.toThrow(TokenError);
      await expect(verifyUserToken(token(), 's3cret', now)).rejects.toThrow(message);
    });
  }
});
