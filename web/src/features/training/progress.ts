// A job as the page shows it: a percentage, a one-line summary, its loss curve, its status colour.
import { duration, num } from '../../lib/format';
import type { JobItem } from '../../lib/types';

export function percent(job: JobItem): number {
  if (job.status === 'succeeded') return 100;
  const p = job.progress;
  if (!p.total || p.done === undefined) return 0;
  // An import's stages are equal steps (reading, converting, checking, measuring, publishing).
  if (job.kind === 'import-model') return Math.min(100, (100 * p.done) / p.total);
  // Training steps are most of the work; publishing is the last tenth.
  const frac = p.done / p.total;
  if (p.stage === 'publishing') return 90 + 10 * frac;
  if (p.stage === 'done') return 100;
  return p.stage === 'train' ? 90 * frac : 0;
}

export function summary(job: JobItem): string {
  const p = job.progress;
  if (job.status === 'queued') return 'queued';
  if (job.status === 'failed') return `failed after ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}`;
  if (job.status === 'succeeded') return 'done';
  const parts = [p.stage ?? 'starting'];
  if (job.kind === 'import-model') {
    if (p.total) parts.push(`${p.done ?? 0} of ${p.total}`);
    return parts.join(' · ');
  }
  if (p.stage === 'train' && p.total) parts.push(`step ${p.done ?? 0} of ${p.total}`);
  if (p.stage === 'publishing' && p.total) parts.push(`${p.done ?? 0} of ${p.total} published`);
  if (p.loss !== undefined) parts.push(`loss ${num(p.loss, 3)}`);
  if (p.eta_s !== undefined && p.stage === 'train') parts.push(`eta ${duration(p.eta_s)}`);
  return parts.join(' · ');
}

export const curveRows = (job: JobItem) =>
  (job.progress.curve ?? []).map(([step, loss]) => ({ step, Loss: loss }));

/** What the job trained: users of an app, or a style; or the base an import makes. */
export function subject(job: JobItem): string {
  const pl = job.payload as { styleId?: string; users?: { userId: string }[]; name?: string };
  if (job.kind === 'train-style') return `style ${pl.styleId ?? ''}`;
  if (job.kind === 'import-model') return `base ${pl.name ?? ''}`;
  const users = (pl.users ?? []).map((u) => u.userId);
  if (users.length <= 3) return users.join(', ');
  return `${users.slice(0, 2).join(', ')} and ${users.length - 2} more`;
}

export const STATUS_COLOR = { queued: 'gray', running: 'blue', succeeded: 'teal', failed: 'red' } as const;

/** Whether any of the jobs is still to finish (the page polls faster then). */
export const live = (jobs: JobItem[] | undefined) =>
  jobs?.some((j) => j.status === 'queued' || j.status === 'running');
