import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64UrlDecode, base64UrlEncode, hex, sha256Hex } from './encoding.js';
import { mulberry32 } from './rng.js';

describe('encoding', () => {
  it("round-trips random bytes through base64url, equal to Node's own encoder", () => {
    const rand = mulberry32(7);
    for (let n = 0; n < 300; n += 7) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      const text = base64UrlEncode(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(base64UrlDecode(text)).toEqual(bytes);
    }
    expect(base64UrlEncode(new Uint8Array(200_000)).length).toBe(Math.ceil((200_000 * 4) / 3));
  });

  it('refuses text that is not base64url', () => {
    for (const bad of ['a+b', 'a/b', 'ab=c', 'é', 'abcde']) expect(base64UrlDecode(bad), bad).toBeNull();
  });

  it('hashes strings as UTF-8 and byte parts concatenated, like node:crypto', async () => {
    const want = createHash('sha256').update('héllo, wörld').digest('hex');
    expect(await sha256Hex('héllo, wörld')).toBe(want);
    expect(await sha256Hex('héllo, ', new TextEncoder().encode('wörld'))).toBe(want);
    expect(hex(new Uint8Array([0, 15, 255]))).toBe('000fff');
  });
});
