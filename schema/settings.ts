// An app's settings as zod schemas: what it may set (each field falls back to the platform's default), a change
// as a JSON merge patch, what is stored (only what differs from the defaults), and the admin API's answer.

import { z } from 'zod';
import { isoTime, memoryChoice } from './shared.js';

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** Everything an app can set; each field falls back to the platform's default (its environment). */
export const appSettings = z
  .strictObject({
    training: z.strictObject({
      /** `auto`: the app's users are trained in scheduled cycles; `manual`: only in runs an operator starts. */
      schedule: z.enum(['auto', 'manual']),
      /** New usable feedback items (likes, edits) that make a user due. */
      min_feedback: z.int().min(1).max(100_000),
      /** Seconds after a user's last training before they are due again. */
      cooldown_s: z
        .int()
        .min(0)
        .max(30 * 24 * 3600),
    }),
    rate_limits: z.strictObject({
      /** Requests per minute per API key (0: unlimited). */
      per_minute: z.int().min(0).max(1_000_000),
      /** Requests per minute per end user (0: unlimited). */
      per_user_per_minute: z.int().min(0).max(1_000_000),
    }),
    retention: z.strictObject({
      /** Generations older than this many days are deleted (0: kept). */
      generations_days: z.int().min(0).max(36_500),
      /** Feedback older than this many days is deleted (0: kept; it is the users' training data). */
      feedback_days: z.int().min(0).max(36_500),
    }),
    cors: z.strictObject({
      /** Web pages allowed to call /v1/* from a browser (`https://host[:port]`). */
      allowed_origins: z.array(z.string().regex(ORIGIN, 'an origin is scheme://host[:port]')).max(32),
    }),
    defaults: z.strictObject({
      /** The adapter a request that names none uses: the user's own (`auto`) or the base model (`none`). */
      adapter: z.enum(['auto', 'none']),
      /** Whether a request that says nothing of memory uses the user's passages (`auto`) or not (`none`). */
      memory: memoryChoice,
    }),
    model: z.strictObject({
      /** The base model (GET /v1/models) a request that names no `model` runs on. */
      base: z.string().min(1).max(64),
    }),
    experiment: z.strictObject({
      /**
       * The share of requests (0-50 %) of users with an adapter that the base model answers instead, marked
       * `holdout`, to measure the effect of personalization on feedback (GET /admin/apps/{app}/effect).
       */
      holdout_percent: z.int().min(0).max(50),
    }),
  })
  .meta({ id: 'AppSettings' });
export type AppSettings = z.infer<typeof appSettings>;

/** A change: a JSON merge patch of AppSettings. A value replaces, `null` resets a field to the default. */
export const appSettingsPatch = z
  .strictObject({
    training: z
      .strictObject({
        schedule: appSettings.shape.training.shape.schedule.nullable(),
        min_feedback: appSettings.shape.training.shape.min_feedback.nullable(),
        cooldown_s: appSettings.shape.training.shape.cooldown_s.nullable(),
      })
      .partial()
      .nullable(),
    rate_limits: z
      .strictObject({
        per_minute: appSettings.shape.rate_limits.shape.per_minute.nullable(),
        per_user_per_minute: appSettings.shape.rate_limits.shape.per_user_per_minute.nullable(),
      })
      .partial()
      .nullable(),
    retention: z
      .strictObject({
        generations_days: appSettings.shape.retention.shape.generations_days.nullable(),
        feedback_days: appSettings.shape.retention.shape.feedback_days.nullable(),
      })
      .partial()
      .nullable(),
    cors: z
      .strictObject({ allowed_origins: appSettings.shape.cors.shape.allowed_origins.nullable() })
      .partial()
      .nullable(),
    defaults: z
      .strictObject({
        adapter: appSettings.shape.defaults.shape.adapter.nullable(),
        memory: appSettings.shape.defaults.shape.memory.nullable(),
      })
      .partial()
      .nullable(),
    model: z.strictObject({ base: appSettings.shape.model.shape.base.nullable() }).partial().nullable(),
    experiment: z
      .strictObject({ holdout_percent: appSettings.shape.experiment.shape.holdout_percent.nullable() })
      .partial()
      .nullable(),
  })
  .partial()
  .meta({ id: 'AppSettingsPatch' });
export type AppSettingsPatch = z.infer<typeof appSettingsPatch>;

/** What an app has set, as stored: only the fields that differ from the platform's defaults. */
export const appSettingsOverrides = z
  .object({
    training: appSettings.shape.training.partial(),
    rate_limits: appSettings.shape.rate_limits.partial(),
    retention: appSettings.shape.retention.partial(),
    cors: appSettings.shape.cors.partial(),
    defaults: appSettings.shape.defaults.partial(),
    model: appSettings.shape.model.partial(),
    experiment: appSettings.shape.experiment.partial(),
  })
  .partial();
export type AppSettingsOverrides = z.infer<typeof appSettingsOverrides>;

export const appSettingsResponse = z
  .object({
    app_id: z.string(),
    /** In force: the app's own values over the platform's defaults. */
    settings: appSettings,
    /** What the app set itself. */
    overrides: appSettingsOverrides,
    /** The platform's defaults (from its environment). */
    defaults: appSettings,
    updated_at: isoTime.nullable(),
  })
  .meta({ id: 'AppSettingsResponse' });
