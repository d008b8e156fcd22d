// The effect answer shaped for the panel: percentages with their intervals, and one chart row per day.
import { bucketLabel } from '../../lib/format';
import type { Effect } from '../../lib/types';

const pct = (x: number) => Math.round(x * 1000) / 10;

/** `62.5 % (48.1–75.0)`, or `—` with nothing rated. */
export function rateText(rate: number | null, ci: [number, number] | null): string {
  if (rate === null || ci === null) return '—';
  return `${pct(rate).toFixed(1)} % (${pct(ci[0]).toFixed(1)}–${pct(ci[1]).toFixed(1)})`;
}

/** `+12.5 points (−3.0 to +27.1)`: personalized − holdout, in percentage points. */
export function differenceText(d: Effect['difference']): string {
  if (!d) return '—';
  const signed = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(pct(x)).toFixed(1)}`;
  return `${signed(d.like_rate)} points (${signed(d.ci95[0])} to ${signed(d.ci95[1])})`;
}

/** What the difference says: an interval wholly above or below zero, or one that still holds zero. */
export function verdict(d: Effect['difference']): 'better' | 'worse' | 'unclear' | null {
  if (!d) return null;
  if (d.ci95[0] > 0) return 'better';
  if (d.ci95[1] < 0) return 'worse';
  return 'unclear';
}

/** No generation in the experiment in the period: the panel explains how to start one. */
export const isEmpty = (e: Effect) => e.personalized.generations + e.holdout.generations === 0;

/** One row per UTC day: each arm's like-rate in percent (null on a day without ratings: a gap). */
export function dailyRows(e: Effect) {
  return e.series.personalized.map((p, i) => {
    const h = e.series.holdout[i];
    return {
      day: bucketLabel(`${p.day}T00:00:00Z`, 'day'),
      Personalized: p.like_rate === null ? null : pct(p.like_rate),
      'Held out': h?.like_rate == null ? null : pct(h.like_rate),
    };
  });
}
