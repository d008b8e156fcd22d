import { describe, expect, it } from 'vitest';
import type { Effect } from '../../lib/types';
import { dailyRows, differenceText, isEmpty, rateText, verdict } from './effect';

const arm = (generations: number, rated: number, likes: number, ci: [number, number] | null) => ({
  generations,
  rated,
  likes,
  like_rate: rated ? likes / rated : null,
  ci95: ci,
});

const effect: Effect = {
  app_id: 'app_1',
  from: '2026-03-01T00:00:00.000Z',
  to: '2026-03-03T00:00:00.000Z',
  holdout_percent: 20,
  personalized: arm(90, 70, 56, [0.6907, 0.8769]),
  holdout: arm(100, 80, 48, [0.4905, 0.7007]),
  difference: { like_rate: 0.2, ci95: [0.0524, 0.3339] },
  series: {
    personalized: [
      { day: '2026-03-01', rated: 70, likes: 56, like_rate: 0.8 },
      { day: '2026-03-02', rated: 0, likes: 0, like_rate: null },
    ],
    holdout: [
      { day: '2026-03-01', rated: 80, likes: 48, like_rate: 0.6 },
      { day: '2026-03-02', rated: 0, likes: 0, like_rate: null },
    ],
  },
};

describe('the effect panel', () => {
  it('writes rates with intervals and the difference in points', () => {
    expect(rateText(0.8, [0.6907, 0.8769])).toBe('80.0 % (69.1–87.7)');
    expect(rateText(null, null)).toBe('—');
    expect(differenceText(effect.difference)).toBe('+20.0 points (+5.2 to +33.4)');
    expect(differenceText({ like_rate: -0.05, ci95: [-0.2, 0.1] })).toBe('−5.0 points (−20.0 to +10.0)');
    expect(differenceText(null)).toBe('—');
  });

  it('says better only when the interval is above zero', () => {
    expect(verdict(effect.difference)).toBe('better');
    expect(verdict({ like_rate: -0.1, ci95: [-0.2, -0.01] })).toBe('worse');
    expect(verdict({ like_rate: 0.1, ci95: [-0.02, 0.2] })).toBe('unclear');
    expect(verdict(null)).toBeNull();
  });

  it('charts one row per day, a gap where nothing was rated', () => {
    const rows = dailyRows(effect);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ Personalized: 80, 'Held out': 60 });
    expect(rows[1]).toMatchObject({ Personalized: null, 'Held out': null });
    expect(isEmpty(effect)).toBe(false);
    expect(isEmpty({ ...effect, personalized: arm(0, 0, 0, null), holdout: arm(0, 0, 0, null) })).toBe(true);
  });
});
