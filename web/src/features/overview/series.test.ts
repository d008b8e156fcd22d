import { describe, expect, it } from 'vitest';
import type { Overview } from '../../lib/types';
import { activityRows, totals } from './series';

const point = (t: string, o: Partial<Overview['activity'][number]> = {}): Overview['activity'][number] => ({
  t,
  generations: 0,
  likes: 0,
  dislikes: 0,
  edits: 0,
  active_users: 0,
  tokens_per_s: null,
  first_token_ms: null,
  fallbacks: 0,
  ...o,
});

const overview = (activity: Overview['activity']): Overview => ({
  bucket: 'hour',
  since: '2026-12-01T00:00:00Z',
  activity,
  training: [{ t: '2026-12-01T00:00:00Z', promoted: 2, rejected: 1, failed_jobs: 1 }],
  fallback_reasons: [],
  totals: { users_with_active_adapter: 4 },
  engine: {
    adapter_cache: { hits: 3, misses: 1, hit_rate: 0.75, entries: 2, bytes: 10, max_bytes: 100 },
    generations_active: 0,
  },
});

describe('overview series', () => {
  it('sums the window and weights decode speed by each bucket’s generations', () => {
    const o = overview([
      point('2026-12-01T00:00:00Z', { generations: 1, likes: 2, tokens_per_s: 100 }),
      point('2026-12-01T01:00:00Z', {
        generations: 3,
        dislikes: 1,
        edits: 1,
        tokens_per_s: 200,
        active_users: 2,
      }),
      point('2026-12-01T02:00:00Z'),
    ]);
    const t = totals(o);
    expect(t).toMatchObject({
      generations: 4,
      feedback: 4,
      likes: 2,
      peakActiveUsers: 2,
      promoted: 2,
      failed: 1,
    });
    expect(t.tokensPerSecond).toBeCloseTo(175);
  });

  it('has no speed when nothing was generated, and leaves gaps as null, not zero', () => {
    const o = overview([point('2026-12-01T00:00:00Z')]);
    expect(totals(o).tokensPerSecond).toBeNull();
    expect(activityRows(o)[0]?.['Tokens/s']).toBeNull();
  });
});
