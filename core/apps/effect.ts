// The statistics of the holdout experiment's answer (GET /admin/apps/{app}/effect): like-rates of the two arms
// with Wilson score intervals, and their difference with Newcombe's hybrid score interval. Pure: counts in,
// figures out (the counts come from core/db/effect.ts).
//
// Wilson: E. B. Wilson, "Probable inference, the law of succession, and statistical inference" (1927).
// Newcombe: R. G. Newcombe, "Interval estimation for the difference between independent proportions:
// comparison of eleven methods", Statistics in Medicine 17 (1998) 873-890, method 10.

import type { GenerationArm } from '../../schema/tables.js';

/** The standard normal's 97.5th percentile: a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

export type Interval = [number, number];

/** Wilson's score interval of `successes` in `n` trials (n > 0). */
export function wilson(successes: number, n: number, z = Z95): Interval {
  if (!(n > 0) || successes < 0 || successes > n) throw new RangeError(`wilson: ${successes} of ${n}`);
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 or n the bound is exactly 0 or 1; floating point may miss it by an ulp.
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)];
}

/** Newcombe's hybrid score interval of p1 − p2, from each proportion's Wilson interval. */
export function newcombe(s1: number, n1: number, s2: number, n2: number, z = Z95): Interval {
  const p1 = s1 / n1;
  const p2 = s2 / n2;
  const [l1, u1] = wilson(s1, n1, z);
  const [l2, u2] = wilson(s2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

/** One arm's counts over a period (or a day). */
export interface ArmCounts {
  /** Generations served in the arm. */
  generations: number;
  /** Of them, those with at least one rating (the latest counts). */
  rated: number;
  /** Of the rated, those whose latest rating is a like. */
  likes: number;
}

export interface ArmEffect extends ArmCounts {
  /** likes / rated; null when nothing was rated. */
  like_rate: number | null;
  ci95: Interval | null;
}

export interface Difference {
  /** personalized − holdout like-rate. */
  like_rate: number;
  ci95: Interval;
}

export function armEffect(c: ArmCounts): ArmEffect {
  return {
    ...c,
    like_rate: c.rated > 0 ? c.likes / c.rated : null,
    ci95: c.rated > 0 ? wilson(c.likes, c.rated) : null,
  };
}

/** personalized − holdout, or null while either arm has no rating. */
export function difference(personalized: ArmCounts, holdout: ArmCounts): Difference | null {
  if (personalized.rated === 0 || holdout.rated === 0) return null;
  return {
    like_rate: personalized.likes / personalized.rated - holdout.likes / holdout.rated,
    ci95: newcombe(personalized.likes, personalized.rated, holdout.likes, holdout.rated),
  };
}

/** A day's counts of one arm, as the database groups them. */
export interface DailyArmCounts extends ArmCounts {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  arm: GenerationArm;
}

export interface DayPoint {
  day: string;
  rated: number;
  likes: number;
  like_rate: number | null;
}

export interface Effect {
  personalized: ArmEffect;
  holdout: ArmEffect;
  difference: Difference | null;
  series: { personalized: DayPoint[]; holdout: DayPoint[] };
}

/** Every UTC day (YYYY-MM-DD) that [from, to) touches, so a chart shows quiet days as zero, not as a gap. */
export function daysOf(from: Date, to: Date): string[] {
  const DAY = 86_400_000;
  const out: string[] = [];
  for (let t = Math.floor(from.getTime() / DAY) * DAY; t < to.getTime(); t += DAY)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** The effect over [from, to) from the per-day counts of each arm. */
export function effectOf(rows: DailyArmCounts[], from: Date, to: Date): Effect {
  const total = (arm: GenerationArm): ArmCounts =>
    rows
      .filter((r) => r.arm === arm)
      .reduce(
        (n, r) => ({
          generations: n.generations + r.generations,
          rated: n.rated + r.rated,
          likes: n.likes + r.likes,
        }),
        { generations: 0, rated: 0, likes: 0 },
      );
  const days = daysOf(from, to);
  const series = (arm: GenerationArm): DayPoint[] => {
    const byDay = new Map(rows.filter((r) => r.arm === arm).map((r) => [r.day, r]));
    return days.map((day) => {
      const r = byDay.get(day);
      const rated = r?.rated ?? 0;
      const likes = r?.likes ?? 0;
      return { day, rated, likes, like_rate: rated > 0 ? likes / rated : null };
    });
  };
  const personalized = total('personalized');
  const holdout = total('holdout');
  return {
    personalized: armEffect(personalized),
    holdout: armEffect(holdout),
    difference: difference(personalized, holdout),
    series: { personalized: series('personalized'), holdout: series('holdout') },
  };
}
