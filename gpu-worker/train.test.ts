import { describe, expect, it } from 'vitest';
import type { TrainerUserResult } from '../core/training/trainer-contract.js';
import { passesGate } from './train.js';

const result = (over: Partial<TrainerUserResult> = {}): TrainerUserResult => ({
  id: '0',
  out_dir: '/tmp/x',
  best_step: 10,
  train_examples: 8,
  heldout_examples: 2,
  train_loss_before: 5,
  train_loss_after: 4,
  heldout_loss_before: 5,
  heldout_loss_after: 4.9,
  improved: true,
  ...over,
});

describe('passesGate', () => {
  it('promotes a version that beats the base model, or the active version, by more than min_delta', () => {
    expect(passesGate(result(), 0.01)).toEqual({ baseline: 5, passed: true });
    expect(passesGate(result(), 0.2).passed).toBe(false);
    expect(passesGate(result({ baseline_heldout_loss: 4.8 }), 0.01)).toEqual({
      baseline: 4.8,
      passed: false,
    });
  });
  it('refuses a guarded version whose general loss is beyond the tolerance, whatever its held-out loss', () => {
    const guarded = (after: number) => result({ general_loss_before: 4, general_loss_after: after });
    expect(passesGate(guarded(4.02), 0.01, 0.005).passed).toBe(true);
    expect(passesGate(guarded(4.021), 0.01, 0.005).passed).toBe(false);
    // unguarded results (a style, a job without windows) are judged on held-out loss alone
    expect(passesGate(result(), 0.01, 0).passed).toBe(true);
  });
});
