// An app's settings: the platform's defaults (its environment) under what the app set itself. Stored as
// overrides only, so a changed platform default reaches every app that did not set that field. Changes are
// JSON merge patches (RFC 7396): a value replaces, `null` resets a field to the default.
import {
  type AppSettings,
  type AppSettingsOverrides,
  type AppSettingsPatch,
  appSettings,
  appSettingsOverrides,
} from '../../schema/contracts.js';
import type { Config } from '../config.js';

export type { AppSettings, AppSettingsOverrides, AppSettingsPatch };

const SECTIONS = ['training', 'rate_limits', 'retention', 'cors', 'defaults', 'model', 'experiment'] as const;

/** The defaults every app starts from, from the platform's configuration. */
export function platformDefaults(config: Pick<Config, 'training' | 'limits' | 'baseModel'>): AppSettings {
  return {
    training: {
      schedule: 'auto',
      min_feedback: config.training.minFeedback,
      cooldown_s: config.training.cooldownS,
    },
    rate_limits: {
      per_minute: config.limits.rateLimitPerMinute,
      per_user_per_minute: config.limits.rateLimitPerUserPerMinute,
    },
    retention: { generations_days: 0, feedback_days: 0 },
    cors: { allowed_origins: [] },
    defaults: { adapter: 'auto', memory: 'none' },
    model: { base: config.baseModel },
    experiment: { holdout_percent: 0 },
  };
}

/** The settings in force: each field the app set, else the default. */
export function effectiveSettings(defaults: AppSettings, overrides: AppSettingsOverrides): AppSettings {
  const out = structuredClone(defaults) as Record<string, Record<string, unknown>>;
  for (const section of SECTIONS) Object.assign(out[section] as object, overrides[section] ?? {});
  return appSettings.parse(out);
}

/** Applies a merge patch to stored overrides; fields set to their default value are kept (explicitly set). */
export function patchOverrides(current: AppSettingsOverrides, patch: AppSettingsPatch): AppSettingsOverrides {
  const out: Record<string, Record<string, unknown>> = structuredClone(current) as never;
  for (const section of SECTIONS) {
    const change = patch[section];
    if (change === undefined) continue;
    if (change === null) {
      delete out[section];
      continue;
    }
    const merged: Record<string, unknown> = { ...(out[section] ?? {}) };
    for (const [field, value] of Object.entries(change)) {
      if (value === null) delete merged[field];
      else if (value !== undefined) merged[field] = value;
    }
    if (Object.keys(merged).length > 0) out[section] = merged;
    else delete out[section];
  }
  return appSettingsOverrides.parse(out);
}

/** Stored JSON as overrides; anything that no longer parses (an older shape) falls back to the defaults. */
export function readOverrides(stored: unknown): AppSettingsOverrides {
  const parsed = appSettingsOverrides.safeParse(stored ?? {});
  return parsed.success ? parsed.data : {};
}
