import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../../lib/types';
import { diffPatch, toValues } from './settings';

const settings: AppSettings = {
  training: { schedule: 'auto', min_feedback: 5, cooldown_s: 600 },
  rate_limits: { per_minute: 600, per_user_per_minute: 60 },
  retention: { generations_days: 30, feedback_days: 0 },
  cors: { allowed_origins: [] },
  defaults: { adapter: 'auto', memory: 'none' },
  model: { base: 'brown-4m' },
  experiment: { holdout_percent: 0 },
};

describe('settings patch', () => {
  it('sends only what changed, grouped by section', () => {
    const before = toValues(settings);
    const after = {
      ...before,
      min_feedback: 8,
      allowed_origins: ['https://app.example.com'],
      memory: 'auto' as const,
      holdout_percent: 10,
    };
    expect(diffPatch(before, after)).toEqual({
      training: { min_feedback: 8 },
      cors: { allowed_origins: ['https://app.example.com'] },
      defaults: { memory: 'auto' },
      experiment: { holdout_percent: 10 },
    });
  });

  it('is empty when nothing changed', () => {
    const v = toValues(settings);
    expect(diffPatch(v, { ...v })).toEqual({});
  });
});
