// Property test over the whole id alphabet: generated ids (not a list) of every length the patterns allow,
// each mapped to a segment every store accepts, distinct ids to distinct segments, even case-folded.
import { describe, expect, it } from 'vitest';
import { USER_ID_PATTERN, userId } from '../../schema/contracts.js';
import { STYLE_ID_PATTERN } from '../../schema/training.js';
import { mulberry32 } from '../util/rng.js';
import { idFromSegment, idSegment, styleAdaptersPrefix, userAdaptersPrefix } from './keys.js';
import { assertValidKey } from './store.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-';

function* ids(n: number, seed: number, maxLength: number): Generator<string> {
  const rand = mulberry32(seed);
  // Short ids over a small alphabet so that dots-only, case twins and near-duplicates come up often.
  const small = '.aA:@-_';
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() ** 3 * maxLength);
    const chars = i % 2 === 0 ? small : ALPHABET;
    let id = '';
    for (let j = 0; j < len; j++) id += chars[Math.floor(rand() * chars.length)];
    yield id;
  }
}

describe('storage keys of ids', () => {
  it('maps every id the API accepts to a valid, distinct key, also under case folding', () => {
    const seen = new Map<string, string>();
    let accepted = 0;
    for (const id of ids(20_000, 7, 128)) {
      if (!userId.safeParse(id).success) continue;
      accepted++;
      const seg = idSegment(id);
      const key = `${userAdaptersPrefix('app_x', id)}v1/adapter_model.safetensors`;
      expect(() => assertValidKey(key), id).not.toThrow();
      expect(key.length).toBeLessThanOrEqual(1024);
      expect(idFromSegment(seg)).toBe(id);
      const folded = seg.toLowerCase();
      const twin = seen.get(folded);
      if (twin !== undefined) expect(twin, `${id} and ${twin} share ${folded}`).toBe(id);
      seen.set(folded, id);
    }
    expect(accepted).toBeGreaterThan(15_000);
  });

  it('gives style ids the same mapping, under styles/', () => {
    for (const id of ids(5_000, 11, 64)) {
      if (!STYLE_ID_PATTERN.test(id) || /^\.{1,2}$/.test(id)) continue;
      expect(() => assertValidKey(`${styleAdaptersPrefix('app_x', id)}v1/x`), id).not.toThrow();
    }
  });

  it('refuses the ids no key could hold at the door', () => {
    for (const id of ['.', '..']) {
      expect(userId.safeParse(id).success, id).toBe(false);
      expect(USER_ID_PATTERN.test(id), id).toBe(false);
      expect(STYLE_ID_PATTERN.test(id), id).toBe(false);
    }
    expect(userId.safeParse('...').success).toBe(true);
    expect(idSegment('...')).toBe('~2e~2e~2e');
    expect(idSegment('reader-1')).toBe('reader-1');
    expect(idSegment('Ada')).toBe('~41da');
  });
});
