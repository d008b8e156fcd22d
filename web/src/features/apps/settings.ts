// The settings form's values and the merge patch that turns them into what changed.
import type { AppSettings, AppSettingsPatch } from '../../lib/types';

export interface SettingsValues {
  schedule: 'auto' | 'manual';
  min_feedback: number;
  cooldown_s: number;
  per_minute: number;
  per_user_per_minute: number;
  generations_days: number;
  feedback_days: number;
  allowed_origins: string[];
  adapter: 'auto' | 'none';
  memory: 'auto' | 'none';
  holdout_percent: number;
  base: string;
}

export const toValues = (s: AppSettings): SettingsValues => ({
  ...s.training,
  ...s.rate_limits,
  ...s.retention,
  allowed_origins: s.cors.allowed_origins,
  adapter: s.defaults.adapter,
  memory: s.defaults.memory,
  holdout_percent: s.experiment.holdout_percent,
  base: s.model.base,
});

/** Only the fields that differ from what is in force: a patch that changes nothing else. */
export function diffPatch(before: SettingsValues, after: SettingsValues): AppSettingsPatch {
  const patch: Record<string, Record<string, unknown>> = {};
  const set = (section: string, key: keyof SettingsValues, field = key as string) => {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) return;
    const part = patch[section] ?? {};
    part[field] = after[key];
    patch[section] = part;
  };
  set('training', 'schedule');
  set('training', 'min_feedback');
  set('training', 'cooldown_s');
  set('rate_limits', 'per_minute');
  set('rate_limits', 'per_user_per_minute');
  set('retention', 'generations_days');
  set('retention', 'feedback_days');
  set('cors', 'allowed_origins');
  set('defaults', 'adapter');
  set('defaults', 'memory');
  set('experiment', 'holdout_percent');
  set('model', 'base');
  return patch as AppSettingsPatch;
}
