import { describe, expect, it } from 'vitest';
import { noneMatch, parseRange, rangeStillApplies } from './byte-ranges.js';

describe('parseRange', () => {
  it('reads one range of each form, clamping the end to the last byte', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(parseRange('bytes=990-', 1000)).toEqual({ kind: 'range', start: 990, end: 999 });
    expect(parseRange('bytes=-10', 1000)).toEqual({ kind: 'range', start: 990, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'range', start: 0, end: 999 });
    expect(parseRange('bytes=500-9999', 1000)).toEqual({ kind: 'range', start: 500, end: 999 });
    expect(parseRange(' BYTES=1-1 ', 1000)).toEqual({ kind: 'range', start: 1, end: 1 });
  });

  it('is unsatisfiable from the end on, for an empty suffix and for any range of an empty file', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=1000-2000', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what is no single bytes range: the whole file is answered', () => {
    for (const h of [
      undefined,
      '',
      'bytes=0-0,5-9',
      'items=0-9',
      'bytes=9-0',
      'bytes=a-b',
      'bytes=-',
      'bytes=1-2-3',
      'bytes=0x1-2',
      `bytes=0-${'9'.repeat(16)}`,
    ]) {
      expect(parseRange(h, 1000), String(h)).toEqual({ kind: 'whole' });
    }
  });
});

describe('conditions', () => {
  const etag = `"${'a'.repeat(64)}"`;
  it('If-None-Match: the tag, a weak one of the same value, one of a list, or *', () => {
    expect(noneMatch(etag, etag)).toBe(true);
    expect(noneMatch(`W/${etag}`, etag)).toBe(true);
    expect(noneMatch(`"x", ${etag}`, etag)).toBe(true);
    expect(noneMatch('*', etag)).toBe(true);
    expect(noneMatch('"x"', etag)).toBe(false);
    expect(noneMatch(undefined, etag)).toBe(false);
  });

  it('If-Range: the range applies only to the same strong ETag', () => {
    expect(rangeStillApplies(undefined, etag)).toBe(true);
    expect(rangeStillApplies(etag, etag)).toBe(true);
    expect(rangeStillApplies(`W/${etag}`, etag)).toBe(false);
    expect(rangeStillApplies('Tue, 01 Jan 2030 00:00:00 GMT', etag)).toBe(false);
    expect(rangeStillApplies(etag, undefined)).toBe(false);
  });
});
