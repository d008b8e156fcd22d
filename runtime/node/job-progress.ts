// Following training jobs from a terminal (the CLI, the demo): one progress bar per job, redrawn in place on a
// terminal, or printed as lines (at most one per tenth of the job) when the output is a file or a pipe.
import type { z } from 'zod';
import type { jobItem } from '../../schema/contracts.js';

export type JobView = z.infer<typeof jobItem>;

const FINISHED = new Set(['succeeded', 'failed']);

export function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((width * done) / total)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** `job_… train [#####---] 12/60 loss 4.2100 eta 40s`, or the job's final state. */
export function describeJob(job: JobView): string {
  const p = job.progress;
  if (job.status === 'failed') return `${job.id} failed: ${job.error ?? 'no error recorded'}`;
  const stage =
    job.status === 'succeeded' ? 'done' : job.status === 'queued' ? 'queued' : (p.stage ?? 'starting');
  const done = job.status === 'succeeded' ? (p.total ?? 1) : (p.done ?? 0);
  const total = p.total ?? 0;
  const loss = typeof p.loss === 'number' ? ` loss ${p.loss.toFixed(4)}` : '';
  const eta = job.status === 'running' && typeof p.eta_s === 'number' ? ` eta ${Math.round(p.eta_s)}s` : '';
  return `${job.id} ${stage.padEnd(10)} ${bar(done, total)} ${done}/${total}${loss}${eta}`;
}

export interface ProgressOutput {
  write(text: string): void;
  isTTY?: boolean;
}

/** Follows each job in turn until it has finished, one bar per job; resolves with the jobs as they ended. */
export async function followJobs(
  getJob: (id: string) => Promise<JobView>,
  ids: string[],
  out: ProgressOutput | null,
  pollMs = 1000,
): Promise<JobView[]> {
  const ended: JobView[] = [];
  for (const id of ids) {
    let shown = '';
    let tenth = -1;
    let stage = '';
    for (;;) {
      const job = await getJob(id);
      const line = describeJob(job);
      const finished = FINISHED.has(job.status);
      if (out?.isTTY) {
        if (line !== shown) out.write(`\r\x1b[K${line}`);
        if (finished) out.write('\n');
      } else if (out) {
        const p = job.progress;
        const t = p.total ? Math.floor((10 * (p.done ?? 0)) / p.total) : 0;
        const now = `${job.status}:${p.stage ?? ''}`;
        if (finished || now !== stage) tenth = -1;
        if (finished || now !== stage || t > tenth) out.write(`${line}\n`);
        tenth = Math.max(tenth, t);
        stage = now;
      }
      shown = line;
      if (finished) {
        ended.push(job);
        break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  return ended;
}
