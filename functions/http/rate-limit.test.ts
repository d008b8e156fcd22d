import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst up to the limit, then refuses with a retry hint, then refills', () => {
    let t = 0;
    const rl = new RateLimiter(() => t);
    expect([rl.take('k', 3), rl.take('k', 3), rl.take('k', 3)].every((d) => d.allowed)).toBe(true);
    const refused = rl.take('k', 3);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBe(20);
    t += 20_000;
    expect(rl.take('k', 3).allowed).toBe(true);
    expect(rl.take('k', 3).allowed).toBe(false);
  });

  it('keeps keys apart and forgets the least recently used beyond its bound', () => {
    const t = 0;
    const rl = new RateLimiter(() => t, 2);
    expect(rl.take('a', 1).allowed).toBe(true);
    expect(rl.take('b', 1).allowed).toBe(true);
    expect(rl.take('a', 1).allowed).toBe(false);
    rl.take('c', 1); // evicts b, the least recently used
    expect(rl.take('c', 1).allowed).toBe(false); // c is tracked
    expect(rl.take('b', 1).allowed).toBe(true); // b was forgotten: a fresh bucket (which evicts a)
    expect(rl.take('a', 1).allowed).toBe(true);
  });

  it('is off when the limit is 0, and each call names its own limit', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 100; i++) expect(rl.take('k', 0).allowed).toBe(true);
    expect(rl.take('small', 1).allowed).toBe(true);
    expect(rl.take('small', 1).allowed).toBe(false);
    expect(rl.take('big', 100).remaining).toBe(99);
  });

  it('gives back a refunded token, never above the bucket size', () => {
    const rl = new RateLimiter(() => 0);
    rl.take('k', 2);
    rl.take('k', 2);
    expect(rl.take('k', 2).allowed).toBe(false);
    rl.refund('k', 2);
    expect(rl.take('k', 2).allowed).toBe(true);
    rl.refund('k', 2);
    rl.refund('k', 2);
    rl.refund('k', 2);
    expect(rl.take('k', 2).remaining).toBe(1);
  });
});

describe('RateLimiter by units of work', () => {
  it('takes a request’s units all or nothing, with the wait for all of them', () => {
    let t = 0;
    const rl = new RateLimiter(() => t);
    expect(rl.take('k', 60, 16)).toMatchObject({ allowed: true, remaining: 44, units: 16 });
    expect(rl.take('k', 60, 40).allowed).toBe(true);
    const refused = rl.take('k', 60, 10); // 4 left: 6 more take 6 s at 1 a second
    expect(refused).toMatchObject({ allowed: false, remaining: 4, retryAfter: 6 });
    expect(rl.take('k', 60, 4).allowed).toBe(true); // the refusal took nothing
    t += 6_000;
    expect(rl.take('k', 60, 6).allowed).toBe(true);
  });

  it('takes a cost over the bucket’s size as the whole bucket: possible when full, never sooner', () => {
    let t = 0;
    const rl = new RateLimiter(() => t);
    expect(rl.take('k', 8, 16)).toMatchObject({ allowed: true, remaining: 0, units: 8 });
    const again = rl.take('k', 8, 16);
    expect(again).toMatchObject({ allowed: false, retryAfter: 60 });
    t += 59_000;
    expect(rl.take('k', 8, 16).allowed).toBe(false);
    t += 1_000;
    expect(rl.take('k', 8, 16).allowed).toBe(true);
  });

  it('gives back the units refunded', () => {
    const rl = new RateLimiter(() => 0);
    const taken = rl.take('k', 10, 7);
    expect(rl.take('k', 10, 4).allowed).toBe(false);
    rl.refund('k', 10, taken.units);
    expect(rl.take('k', 10, 10).allowed).toBe(true);
  });
});
