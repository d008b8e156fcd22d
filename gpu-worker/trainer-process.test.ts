// Real child process, real trainer, on a tiny random base model written by the trainer's own code.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainerJob } from '../core/training/trainer-contract.js';
import { fakePython } from '../test/support/fake-trainer.js';
import { defaultPython, runTrainer, TRAINER_DIR, TrainerError } from './trainer-process.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'tailor-tiny-'));
  const script = [
    'import sys, torch',
    'from tailor_trainer.config import ModelConfig',
    'from tailor_trainer.model import LlamaForCausalLM',
    'from tailor_trainer.pretrain import save_base, write_config',
    'from pathlib import Path',
    'torch.manual_seed(0)',
    'cfg = ModelConfig(vocab_size=64, dim=16, n_layers=1, n_heads=2, n_kv_heads=1, ffn_dim=24, max_seq_len=64)',
    'm = LlamaForCausalLM(cfg); out = Path(sys.argv[1]); save_base(m, out); write_config(out, cfg, {})',
  ].join('\n');
  execFileSync(defaultPython(), ['-c', script, base], { cwd: TRAINER_DIR });
});

const job = (over: Partial<TrainerJob> = {}): TrainerJob => ({
  version: 1,
  base_model: base,
  lora: { r: 2, alpha: 4 },
  train: { steps: 6, lr: 0.01, batch_size: 2, eval_every: 2 },
  users: [
    {
      id: 'u1',
      out_dir: join(base, 'out', 'u1'),
      train: [{ prompt: [1, 2], completion: [3, 4, 5, 6], weight: 1 }],
      heldout: [{ prompt: [1], completion: [3, 4, 5], weight: 1 }],
    },
  ],
  ...over,
});

describe('runTrainer', () => {
  it('runs the trainer, streams progress and returns the validated result', async () => {
    const progress: number[] = [];
    const result = await runTrainer(job(), { onProgress: (p) => progress.push(p.done), device: 'cpu' });
    expect(result.users[0]?.id).toBe('u1');
    expect(result.users[0]?.heldout_loss_after).toBeLessThanOrEqual(
      result.users[0]?.heldout_loss_before ?? 0,
    );
    expect(progress.at(-1)).toBe(result.steps_run);
  });

  it('refuses a job that breaks the contract before starting a process', () => {
    expect(() => runTrainer({ ...job(), version: 2 } as unknown as TrainerJob)).toThrow();
  });

  it('refuses relative paths: the trainer runs in a directory of its own', () => {
    expect(() => runTrainer({ ...job(), base_model: '.tailor/worker-cache/models/x' })).toThrow(/absolute/);
    const rel = job();
    (rel.users[0] as TrainerJob['users'][number]).out_dir = 'out/u1';
    expect(() => runTrainer(rel)).toThrow(/absolute.*out\/u1/);
  });

  it('reports a job the trainer rejects as a permanent failure', async () => {
    const bad = job();
    const [user] = bad.users;
    if (user) user.train[0] = { prompt: [], completion: [9999], weight: 1 }; // outside the tiny model's vocabulary
    const err = await runTrainer(bad, { device: 'cpu' }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/ids within/);
  });
});

describe('runTrainer when the trainer misbehaves', () => {
  it('a crash fails the attempt with the last line of its log, retryable', async () => {
    const python = fakePython(
      'echo "loading model" >&2; echo "Segmentation fault (core dumped)" >&2; exit 139',
    );
    const err = await runTrainer(job(), { python }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect(err.permanent).toBe(false);
    expect(err.message).toBe('trainer exited with code 139: Segmentation fault (core dumped)');
  });

  it('a trainer that hangs is killed at its time limit', async () => {
    const python = fakePython('echo "step 1" >&2; exec sleep 600');
    const t0 = Date.now();
    const err = await runTrainer(job(), { python, timeoutS: 1 }).catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(TrainerError);
    expect(err.permanent).toBe(false);
    expect(err.message).toMatch(/time limit of 1 s/);
  });

  it('a result with NaN losses is no result', async () => {
    const line = JSON.stringify({
      event: 'result',
      version: 1,
      users: [],
      steps_run: 1,
      seconds: 1,
      device: 'cpu',
    });
    const python = fakePython(
      `echo '${line.replace('"users":[]', '"users":[{"id":"u1","heldout_loss_after":NaN}]')}'`,
    );
    const err = await runTrainer(job(), { python }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect(err.message).toMatch(/without a valid result/);
  });

  it('divergence reported by the trainer is permanent', async () => {
    const python = fakePython('echo "TrainingDiverged: user u1: non-finite loss" >&2; exit 1');
    const err = await runTrainer(job(), { python }).catch((e) => e);
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/non-finite loss/);
  });
});
