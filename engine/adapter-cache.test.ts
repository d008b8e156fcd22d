import { describe, expect, it } from 'vitest';
import { AdapterCache } from './adapter-cache.js';

const entry = (bytes: number, tag = '') => ({ bytes, tag });

describe('AdapterCache', () => {
  it('a hundred concurrent gets of a cold key cause one load', async () => {
    const cache = new AdapterCache<{ bytes: number; tag: string }>(1000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return entry(10, 'v1');
    };
    const got = await Promise.all(Array.from({ length: 100 }, () => cache.get('adapters/a/u/v1/', load)));
    expect(loads).toBe(1);
    expect(new Set(got).size).toBe(1);
    await cache.get('adapters/a/u/v1/', load);
    const m = cache.metrics();
    expect(m).toMatchObject({ loads: 1, misses: 100, hits: 1, entries: 1, bytes: 10, loadErrors: 0 });
    expect(m.loadSeconds.count).toBe(1);
    expect(m.loadSeconds.buckets['+Inf']).toBe(1);
  });

  it('a failed load reaches every waiter and is not cached', async () => {
    const cache = new AdapterCache<{ bytes: number; tag: string }>(1000);
    let calls = 0;
    const failing = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('storage down');
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.get('k', failing)));
    expect(
      results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'storage down'),
    ).toBe(true);
    expect(calls).toBe(1);
    expect(await cache.get('k', async () => entry(5, 'ok'))).toEqual(entry(5, 'ok'));
    expect(cache.metrics()).toMatchObject({ loads: 2, loadErrors: 1, entries: 1 });
  });

  it('evicts the least recently used entries to stay within its bytes', async () => {
    const cache = new AdapterCache<{ bytes: number; tag: string }>(100);
    await cache.get('a', async () => entry(40, 'a'));
    await cache.get('b', async () => entry(40, 'b'));
    await cache.get('a', async () => entry(40, 'a2')); // a is now the most recent
    await cache.get('c', async () => entry(40, 'c')); // over 100: b goes
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')?.tag).toBe('a');
    expect(cache.peek('c')?.tag).toBe('c');
    expect(cache.metrics()).toMatchObject({ evictions: 1, bytes: 80, entries: 2 });
    await cache.get('d', async () => entry(90, 'd')); // needs both gone
    expect(cache.metrics()).toMatchObject({ evictions: 3, bytes: 90, entries: 1 });
  });

  it('serves an entry larger than the whole cache without keeping it', async () => {
    const cache = new AdapterCache<{ bytes: number; tag: string }>(100);
    await cache.get('small', async () => entry(10));
    expect((await cache.get('huge', async () => entry(500, 'h'))).tag).toBe('h');
    expect(cache.peek('huge')).toBeUndefined();
    expect(cache.metrics()).toMatchObject({ oversize: 1, entries: 1, bytes: 10, evictions: 0 });
  });
});
