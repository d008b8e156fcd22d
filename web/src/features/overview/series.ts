// The overview's answer shaped for charts: labelled buckets, and the figures a reader wants at a glance.
import { bucketLabel } from '../../lib/format';
import type { Overview } from '../../lib/types';

export function activityRows(o: Overview) {
  return o.activity.map((a) => ({
    t: bucketLabel(a.t, o.bucket),
    Generations: a.generations,
    Likes: a.likes,
    Dislikes: a.dislikes,
    Edits: a.edits,
    'Active users': a.active_users,
    'Tokens/s': a.tokens_per_s === null ? null : Math.round(a.tokens_per_s),
    'First token (ms)': a.first_token_ms === null ? null : Math.round(a.first_token_ms),
    Fallbacks: a.fallbacks,
  }));
}

export function trainingRows(o: Overview) {
  return o.training.map((t) => ({
    t: bucketLabel(t.t, o.bucket),
    Promoted: t.promoted,
    Rejected: t.rejected,
    Failed: t.failed_jobs,
  }));
}

export function totals(o: Overview) {
  const sum = (k: 'generations' | 'likes' | 'dislikes' | 'edits' | 'fallbacks') =>
    o.activity.reduce((n, a) => n + a[k], 0);
  const timed = o.activity.filter((a) => a.tokens_per_s !== null);
  const weight = timed.reduce((n, a) => n + a.generations, 0);
  return {
    generations: sum('generations'),
    feedback: sum('likes') + sum('dislikes') + sum('edits'),
    likes: sum('likes'),
    dislikes: sum('dislikes'),
    edits: sum('edits'),
    fallbacks: sum('fallbacks'),
    peakActiveUsers: Math.max(0, ...o.activity.map((a) => a.active_users)),
    promoted: o.training.reduce((n, t) => n + t.promoted, 0),
    rejected: o.training.reduce((n, t) => n + t.rejected, 0),
    failed: o.training.reduce((n, t) => n + t.failed_jobs, 0),
    /** Mean of the buckets' speeds, weighted by their generations. */
    tokensPerSecond: weight
      ? timed.reduce((n, a) => n + (a.tokens_per_s ?? 0) * a.generations, 0) / weight
      : null,
    usersWithAdapter: o.totals.users_with_active_adapter,
    cacheHitRate: o.engine.adapter_cache.hit_rate,
  };
}
