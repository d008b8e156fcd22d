import { describe, expect, it } from 'vitest';
import { StopMatcher } from './stop.js';

function feed(stops: string[], chunks: string[]) {
  const m = new StopMatcher(stops);
  const out: string[] = [];
  for (const c of chunks) {
    const r = m.push(c);
    out.push(r.text);
    if (r.stopped) return { out, stopped: true };
  }
  out.push(m.flush());
  return { out, stopped: false };
}

describe('StopMatcher', () => {
  it('passes text straight through without stop strings', () => {
    expect(feed([], ['a', 'b'])).toEqual({ out: ['a', 'b', ''], stopped: false });
  });

  it('holds a possible prefix and cuts before a match spanning chunks', () => {
    const { out, stopped } = feed(['\n\n'], ['Hello', ' world\n', '\nMore']);
    expect(stopped).toBe(true);
    expect(out).toEqual(['Hello', ' world', '']);
  });

  it('releases held text when the match fails', () => {
    expect(feed(['END'], ['the E', 'ND?', 'x']).out.join('')).toBe('the ');
    expect(feed(['END'], ['the E', 'x', 'y']).out).toEqual(['the ', 'Ex', 'y', '']);
  });

  it('stops at the earliest of several stop strings', () => {
    const { out } = feed(['world', 'lo w'], ['hello world']);
    expect(out.join('')).toBe('hel');
  });

  it('ignores empty stop strings and never splits a surrogate pair', () => {
    const m = new StopMatcher(['', '\uDE42x']);
    // The low surrogate of 🙂 could start the stop string: the whole pair is held, not half of it.
    expect(m.push('a🙂').text).toBe('a');
    expect(m.flush()).toBe('🙂');
  });
});
