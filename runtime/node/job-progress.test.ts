import { describe, expect, it } from 'vitest';
import { bar, describeJob, followJobs, type JobView } from './job-progress.js';

const job = (over: Partial<JobView>): JobView => ({
  id: 'job_1',
  kind: 'train-users',
  app_id: null,
  status: 'running',
  attempts: 1,
  max_attempts: 3,
  payload: { baseModel: 'brown-4m', users: [{ appId: 'a', userId: 'u' }] },
  progress: {},
  result: null,
  error: null,
  created_at: new Date(0).toISOString(),
  started_at: null,
  finished_at: null,
  ...over,
});

describe('job progress', () => {
  it('draws a bar with the step, the loss and the time left', () => {
    expect(bar(15, 60, 8)).toBe('[##------]');
    const line = describeJob(
      job({ progress: { stage: 'train', done: 15, total: 60, loss: 4.2, eta_s: 44.6 } }),
    );
    expect(line).toBe('job_1 train      [######------------------] 15/60 loss 4.2000 eta 45s');
    expect(describeJob(job({ status: 'failed', error: 'trainer exited with code 1' }))).toMatch(
      /failed: trainer exited/,
    );
  });

  it('prints one line per tenth of a job when the output is not a terminal, and ends with its final state', async () => {
    const states: Partial<JobView>[] = [
      { status: 'queued' },
      ...Array.from({ length: 60 }, (_, i) => ({ progress: { stage: 'train', done: i + 1, total: 60 } })),
      { progress: { stage: 'publishing', done: 0, total: 4 } },
      { status: 'succeeded', progress: { stage: 'done', done: 4, total: 4 } },
    ];
    let n = 0;
    const lines: string[] = [];
    const ended = await followJobs(
      async () => job(states[Math.min(n++, states.length - 1)] as Partial<JobView>),
      ['job_1'],
      { write: (t) => lines.push(t), isTTY: false },
      0,
    );
    expect(ended.map((j) => j.status)).toEqual(['succeeded']);
    const train = lines.filter((l) => l.includes(' train '));
    expect(train.length).toBeGreaterThanOrEqual(10);
    expect(train.length).toBeLessThanOrEqual(12);
    expect(lines.at(-1)).toMatch(/done .* 4\/4\n$/);
  });

  it('redraws one line in place on a terminal', async () => {
    let n = 0;
    const out: string[] = [];
    await followJobs(
      async () =>
        job(
          n++ < 3
            ? { progress: { stage: 'train', done: n, total: 3 } }
            : { status: 'succeeded', progress: { total: 3 } },
        ),
      ['job_1'],
      { write: (t) => out.push(t), isTTY: true },
      0,
    );
    expect(out.every((t) => t.startsWith('\r\x1b[K') || t === '\n')).toBe(true);
    expect(out.at(-1)).toBe('\n');
  });
});
