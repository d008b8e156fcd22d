import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst up to the limit, then refuses with a retry hint, then refills', () => {
    let t = 0;
    const rl = new RateLimiter(3, () => t);
    expect([rl.take('k'), rl.take('k'), rl.take('k')].every((d) => d.allowed)).toBe(true);
    const refused = rl.take('k');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBe(20);
    t += 20_000;
    expect(rl.take('k').allowed).toBe(true);
    expect(rl.take('k').allowed).toBe(false);
  });

  it('keeps keys apart and forgets the least recently used beyond its bound', () => {
    const t = 0;
    const rl = new RateLimiter(1, () => t, 2);
    expect(rl.take('a').allowed).toBe(true);
    expect(rl.take('b').allowed).toBe(true);
    expect(rl.take('a').allowed).toBe(false);
    rl.take('c'); // evicts b, the least recently used
    expect(rl.take('c').allowed).toBe(false); // c is tracked
    expect(rl.take('b').allowed).toBe(true); // b was forgotten: a fresh bucket (which evicts a)
    expect(rl.take('a').allowed).toBe(true);
  });

  it('is off when the limit is 0', () => {
    const rl = new RateLimiter(0);
    for (let i = 0; i < 100; i++) expect(rl.take('k').allowed).toBe(true);
  });
});
