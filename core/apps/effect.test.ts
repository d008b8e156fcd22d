import { describe, expect, it } from 'vitest';
import { daysOf, difference, effectOf, newcombe, wilson } from './effect.js';

const close = (got: number[] | null, want: number[], digits = 4) => {
  expect(got).not.toBeNull();
  for (const [i, x] of (got as number[]).entries()) expect(x).toBeCloseTo(want[i] as number, digits);
};

describe('Wilson score interval', () => {
  it('matches published values', () => {
    close(wilson(8, 10), [0.4902, 0.9433]);
    // Newcombe (1998), table II: 81/263 → 0.2553-0.3662; 15/148 → 0.0624-0.1605.
    close(wilson(81, 263), [0.2553, 0.3662]);
    close(wilson(15, 148), [0.0624, 0.1605]);
  });

  it('reaches exactly 0 and 1 at the edges, and stays inside [0, 1]', () => {
    expect(wilson(0, 10)[0]).toBe(0);
    expect(wilson(10, 10)[1]).toBe(1);
    close(wilson(0, 10), [0, 0.2775]);
    close(wilson(10, 10), [0.7225, 1]);
    close(wilson(1, 1), [0.2065, 1]);
  });

  it('refuses impossible counts', () => {
    expect(() => wilson(1, 0)).toThrow(RangeError);
    expect(() => wilson(3, 2)).toThrow(RangeError);
  });
});

describe("Newcombe's hybrid score interval of a difference (method 10)", () => {
  it("matches the examples of Newcombe's 1998 paper", () => {
    close(newcombe(56, 70, 48, 80), [0.0524, 0.3339]);
    close(newcombe(9, 10, 3, 10), [0.1705, 0.809]);
    close(newcombe(6, 7, 2, 7), [0.0582, 0.8062]);
    close(newcombe(5, 56, 0, 29), [-0.0381, 0.1926]);
  });

  it('is null while either arm has no rating', () => {
    expect(
      difference({ generations: 3, rated: 0, likes: 0 }, { generations: 2, rated: 2, likes: 1 }),
    ).toBeNull();
    const d = difference(
      { generations: 90, rated: 70, likes: 56 },
      { generations: 90, rated: 80, likes: 48 },
    );
    expect(d?.like_rate).toBeCloseTo(0.2, 12);
    close(d?.ci95 ?? null, [0.0524, 0.3339]);
  });
});

describe('the effect of a period', () => {
  const from = new Date('2026-03-01T12:00:00Z');
  const to = new Date('2026-03-04T00:00:00Z');

  it('lists every UTC day the period touches', () => {
    expect(daysOf(from, to)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
    expect(daysOf(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T00:00:01Z'))).toEqual([
      '2026-03-01',
    ]);
  });

  it('sums the days of each arm, with rates, intervals and zero days', () => {
    const e = effectOf(
      [
        { day: '2026-03-01', arm: 'personalized', generations: 6, rated: 5, likes: 4 },
        { day: '2026-03-03', arm: 'personalized', generations: 6, rated: 5, likes: 4 },
        { day: '2026-03-03', arm: 'holdout', generations: 4, rated: 0, likes: 0 },
      ],
      from,
      to,
    );
    expect(e.personalized).toMatchObject({ generations: 12, rated: 10, likes: 8, like_rate: 0.8 });
    close(e.personalized.ci95, [0.4902, 0.9433]);
    expect(e.holdout).toEqual({ generations: 4, rated: 0, likes: 0, like_rate: null, ci95: null });
    expect(e.difference).toBeNull();
    expect(e.series.personalized.map((d) => [d.day, d.rated, d.like_rate])).toEqual([
      ['2026-03-01', 5, 0.8],
      ['2026-03-02', 0, null],
      ['2026-03-03', 5, 0.8],
    ]);
    expect(e.series.holdout.every((d) => d.rated === 0 && d.like_rate === null)).toBe(true);
  });
});
