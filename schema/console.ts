// The console's views as zod schemas: one user, the overview (activity, training, fallbacks, this process's
// engine), the effect of personalization (the holdout experiment's arms), the base model.

import { z } from 'zod';
import { appParams } from './admin.js';
import { isoTime, userId } from './shared.js';

export const userDetailParams = z.object({ app: appParams.shape.app, user: userId });

export const userDetail = z
  .object({
    user: z.string(),
    created_at: isoTime.nullable(),
    last_seen: isoTime.nullable(),
    active_version: z.string().nullable(),
    /** When the user opted out of training; null while they are trained. */
    training_opted_out_at: isoTime.nullable(),
    feedback: z.object({ likes: z.int(), dislikes: z.int(), edits: z.int() }),
    generations: z.int(),
    versions: z.int(),
  })
  .meta({ id: 'UserDetail' });

export const overviewQuery = z.object({
  app: z.string().min(1).max(64).optional(),
  /** The window: the last day (by hour), week (by hour) or month (by day). */
  range: z.enum(['24h', '7d', '30d']).default('7d'),
});

const nullableNumber = z.number().nullable();
export const overviewResponse = z
  .object({
    bucket: z.enum(['hour', 'day']),
    since: isoTime,
    activity: z.array(
      z.object({
        t: isoTime,
        generations: z.int(),
        likes: z.int(),
        dislikes: z.int(),
        edits: z.int(),
        active_users: z.int(),
        tokens_per_s: nullableNumber,
        first_token_ms: nullableNumber,
        fallbacks: z.int(),
      }),
    ),
    training: z.array(z.object({ t: isoTime, promoted: z.int(), rejected: z.int(), failed_jobs: z.int() })),
    fallback_reasons: z.array(z.object({ reason: z.string(), count: z.int() })),
    totals: z.object({ users_with_active_adapter: z.int() }),
    /** This process's engine only (each process and isolate has its own cache). */
    engine: z.object({
      adapter_cache: z.object({
        hits: z.int(),
        misses: z.int(),
        hit_rate: nullableNumber,
        entries: z.int(),
        bytes: z.int(),
        max_bytes: z.int(),
      }),
      generations_active: z.int(),
    }),
  })
  .meta({ id: 'Overview' });

// ── the effect of personalization (admin) ──────────────────────────────────────────────────────────

/** The period: ISO 8601 date-times (checked by the route: a bad or reversed period, or one over 366 days, is a 400). */
export const effectQuery = z.object({
  /** Default: 30 days before `to`. */
  from: z.string().optional().meta({ description: 'ISO 8601 date-time; default 30 days before `to`' }),
  /** Default: now. */
  to: z.string().optional().meta({ description: 'ISO 8601 date-time (exclusive); default now' }),
});
const interval = z.tuple([z.number(), z.number()]);
const armEffect = z.object({
  /** The arm's generations made in the period. */
  generations: z.int(),
  /** Of them, those rated at least once (a generation rated several times counts by its latest rating). */
  rated: z.int(),
  /** Of the rated, those whose latest rating is a like. */
  likes: z.int(),
  /** likes / rated; null when nothing was rated. */
  like_rate: z.number().nullable(),
  /** Wilson score 95 % interval of the like-rate; null when nothing was rated. */
  ci95: interval.nullable(),
});
const effectDay = z.object({
  /** The UTC day, YYYY-MM-DD. */
  day: z.string(),
  rated: z.int(),
  likes: z.int(),
  like_rate: z.number().nullable(),
});
export const effectResponse = z
  .object({
    app_id: z.string(),
    from: isoTime,
    to: isoTime,
    /** The app's `experiment.holdout_percent` in force now. */
    holdout_percent: z.int(),
    personalized: armEffect,
    holdout: armEffect,
    /** personalized − holdout like-rate, with Newcombe's hybrid score 95 % interval; null while an arm has no rating. */
    difference: z.object({ like_rate: z.number(), ci95: interval }).nullable(),
    /** Every UTC day of the period, per arm. */
    series: z.object({ personalized: z.array(effectDay), holdout: z.array(effectDay) }),
  })
  .meta({ id: 'Effect' });
export type EffectResponse = z.infer<typeof effectResponse>;

export const modelResponse = z
  .object({
    id: z.string(),
    params: z.int(),
    architecture: z.object({
      layers: z.int(),
      hidden_size: z.int(),
      heads: z.int(),
      kv_heads: z.int(),
      vocab_size: z.int(),
      context: z.int(),
    }),
    lora: z.object({ targets: z.array(z.string()), max_rank: z.int() }),
    perplexity: z.array(z.object({ split: z.string(), ppl: z.number(), nll: z.number(), tokens: z.int() })),
    training: z.object({
      steps: z.int(),
      tokens_seen: z.int(),
      seconds: z.number(),
      device: z.string(),
      /** [step, loss], at most 300 points. */
      loss: z.array(z.tuple([z.number(), z.number()])),
    }),
    splits: z.object({ train: z.int(), heldout: z.int() }),
  })
  .meta({ id: 'Model' });
