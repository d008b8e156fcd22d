// Training throughput (issue 5): 16 users' adapters trained together in one batch vs the same 16 one after
// another, by the Python trainer (gpu-worker/trainer/experiments/throughput.py) on this machine's CPU.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Measured, round } from './harness.js';
import { type BenchContext, MODEL_DIR, ROOT } from './setup.js';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const steps = ctx.quick ? 2 : 10;
  const users = ctx.quick ? 4 : 16;
  const { stdout } = await promisify(execFile)(
    '/usr/bin/python3',
    [
      '-m',
      'experiments.throughput',
      '--model',
      MODEL_DIR,
      '--users',
      String(users),
      '--steps',
      String(steps),
    ],
    { cwd: join(ROOT, 'gpu-worker/trainer'), maxBuffer: 1 << 24, timeout: 3_600_000 },
  );
  const r = JSON.parse(stdout.trim().split('\n').at(-1) as string);
  ctx.log(
    `  batched ${r.batched_s} s, one after another ${r.sequential_s} s (${users} users × ${steps} steps)`,
  );
  const peer = `the same ${users} users trained one after another (same trainer, ${r.threads} CPU thread)`;
  return [
    {
      id: `training_users_per_hour_cpu_batched_${users}`,
      value: r.users_per_hour_batched,
      unit: 'users/hour (60-step recipe, 48 examples × 128 tokens)',
      vs: peer,
      ratio: round(r.ratio, 3),
      goal: '≥ 2× on CPU',
    },
    {
      id: 'training_users_per_hour_cpu_one_at_a_time',
      value: r.users_per_hour_sequential,
      unit: 'users/hour',
    },
  ];
}
