// HTTP API v1 as zod schemas: one schema per request and response gives the validator, the TS type (z.infer)
// and the OpenAPI entry (the routes name them; `.meta({ id })` makes each a named component of /openapi.json).
// Field names are the wire's snake_case. Requests are strict (an unknown field is a 422, so `maxTokens` does
// not pass silently); defaults are applied by parsing. Times on the wire are ISO 8601 strings.

import { z } from 'zod';
import { auditSubjectKinds } from './tables.js';
import { adapterMetrics, jobPayloads, jobProgress, jobResult, styleId } from './training.js';

// ── shared pieces ───────────────────────────────────────────────────────────────────────────────────

/** 1-128 characters of [A-Za-z0-9_.:@-], not `.` or `..` (no storage key or URL path could hold those). */
export const USER_ID_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9_.:@-]{1,128}$/;
export const userId = z
  .string()
  .regex(USER_ID_PATTERN, 'user ids are 1-128 characters of [A-Za-z0-9_.:@-], not . or ..');

export const errorBody = z
  .object({
    error: z.object({
      /** Machine-readable: `invalid_request`, `not_found`, `rate_limited`... */
      code: z.string(),
      /** For people: what was wrong, naming the field. */
      message: z.string(),
      /** For validation errors: `{ issues: [{ path, message }] }`. */
      details: z.object({ issues: z.array(z.object({ path: z.string(), message: z.string() })) }).optional(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBody>;

const isoTime = z.iso.datetime({ offset: true });
const adapterVersion = z.string().min(1).max(128);

/** Which adapter to apply: the user's active one, none (base model alone), or a named version. */
export const adapterChoice = z
  .union([z.literal('auto'), z.literal('none'), z.strictObject({ version: adapterVersion })])
  .meta({ id: 'AdapterChoice', description: "auto: the user's active version; none: the base model alone" });
export type AdapterChoice = z.infer<typeof adapterChoice>;

/** The adapter a response used, or null for the base model alone. */
export const adapterUsed = z.object({ version: z.string() }).nullable();

export const styleWeight = z
  .strictObject({ id: styleId, weight: z.number().min(-2).max(2) })
  .meta({ id: 'StyleWeight' });
export type StyleWeight = z.infer<typeof styleWeight>;

export const finishReason = z.enum(['stop', 'length', 'eos']);

/** Whether the user's own passages (liked and edited texts) fill part of the context: see docs/api.md, Memory. */
export const memoryChoice = z.enum(['auto', 'none']).meta({
  id: 'MemoryChoice',
  description: "auto: the user's most relevant passages before the prompt; none: off",
});
export type MemoryChoice = z.infer<typeof memoryChoice>;

/** The memory a response used: which feedback items (ids) and how many tokens they took. */
export const memoryUsed = z
  .object({ items: z.array(z.string()), tokens: z.int().min(0) })
  .meta({ id: 'MemoryUsed' });
export type MemoryUsed = z.infer<typeof memoryUsed>;

// ── /v1/generate ────────────────────────────────────────────────────────────────────────────────────

/** `user` is required with an app key; with a user token it defaults to the token's user (and must match). */
const actingUser = userId.optional();

/** A generation's length when the request names none (also what the rate limits charge for it). */
export const DEFAULT_MAX_TOKENS = 64;

export const generateRequest = z
  .strictObject({
    user: actingUser,
    prompt: z.string().max(32_768),
    max_tokens: z.int().min(1).max(512).default(DEFAULT_MAX_TOKENS),
    temperature: z.number().min(0).max(2).default(0.8),
    top_p: z.number().gt(0).max(1).default(0.95),
    /** 0 turns top-k off. */
    top_k: z.int().min(0).max(4096).default(50),
    seed: z.int().optional(),
    stop: z.array(z.string().min(1).max(256)).max(4).optional(),
    /** Left out: the app's default (settings `defaults.adapter`, `auto` unless changed). */
    adapter: adapterChoice.optional(),
    styles: z.array(styleWeight).max(4).default([]),
    /** Left out: the app's default (settings `defaults.memory`, `none` unless changed). */
    memory: memoryChoice.optional(),
    stream: z.boolean().default(false),
  })
  .meta({ id: 'GenerateRequest' });
export type GenerateRequest = z.infer<typeof generateRequest>;
export type GenerateRequestInput = z.input<typeof generateRequest>;

/** Styles applied with their active versions. */
export const stylesUsed = z.array(z.object({ id: z.string(), version: z.string(), weight: z.number() }));

/** A generation's arm in its app's holdout experiment (settings `experiment`). */
export const experimentArm = z.enum(['personalized', 'holdout']);

/** Present when the adapters could not be loaded and the base model answered instead. */
export const adapterFallback = z.object({ reason: z.string() });

export const generateResponse = z
  .object({
    id: z.string(),
    text: z.string(),
    finish_reason: finishReason,
    adapter: adapterUsed,
    styles: stylesUsed.optional(),
    adapter_fallback: adapterFallback.optional(),
    /** With memory on: the passages placed before the prompt (their tokens are not in usage.prompt_tokens). */
    memory: memoryUsed.optional(),
    /**
     * Present when the request is in the app's holdout experiment (settings `experiment`): `holdout` when the
     * base model answered instead of the user's adapter, `personalized` when the adapter did.
     */
    experiment: z.object({ arm: experimentArm }).optional(),
    usage: z.object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) }),
    timings_ms: z.record(z.string(), z.number()),
    /** The seed used (the request's, or a random one): the same seed and options give the same text. */
    seed: z.int(),
  })
  .meta({ id: 'GenerateResponse' });
export type GenerateResponse = z.infer<typeof generateResponse>;

/** Server-Sent Events of `stream: true`: `token` events, then one `done` (or `error`). */
export const generateStreamEvents = {
  token: z.object({ text: z.string() }),
  done: generateResponse,
  error: errorBody,
} as const;
export type GenerateStreamEvent =
  | { event: 'token'; data: z.infer<typeof generateStreamEvents.token> }
  | { event: 'done'; data: GenerateResponse }
  | { event: 'error'; data: ErrorBody };

// ── /v1/score ───────────────────────────────────────────────────────────────────────────────────────

export const scoreRequest = z
  .strictObject({
    user: actingUser,
    texts: z.array(z.string().min(1).max(32_768)).min(1).max(16),
    context: z.string().max(32_768).optional(),
    /** Left out: the app's default (settings `defaults.adapter`). */
    adapter: adapterChoice.optional(),
    styles: z.array(styleWeight).max(4).default([]),
    /** Left out: the app's default (settings `defaults.memory`); with `auto` the passages come before `context`. */
    memory: memoryChoice.optional(),
  })
  .meta({ id: 'ScoreRequest' });
export type ScoreRequest = z.infer<typeof scoreRequest>;

export const scoreResponse = z
  .object({
    adapter: adapterUsed,
    styles: stylesUsed.optional(),
    adapter_fallback: adapterFallback.optional(),
    memory: memoryUsed.optional(),
    results: z.array(
      z.object({
        tokens: z.int().min(0),
        /** Negative log-likelihood of the text's tokens (nats), summed, and per token. */
        nll: z.number(),
        mean_nll: z.number(),
      }),
    ),
  })
  .meta({ id: 'ScoreResponse' });
export type ScoreResponse = z.infer<typeof scoreResponse>;

// ── /v1/feedback ────────────────────────────────────────────────────────────────────────────────────

export const rating = z.union([z.literal(1), z.literal(-1)]);

/** Points at a generation, or carries the text itself (content the user wrote, liked or disliked). */
export const feedbackRequest = z
  .strictObject({
    user: actingUser,
    generation_id: z.string().min(1).max(64).optional(),
    prompt: z.string().max(32_768).optional(),
    text: z.string().min(1).max(32_768).optional(),
    rating,
    /** The user's own correction: counts as a strong positive. */
    edited_text: z.string().min(1).max(32_768).optional(),
    idempotency_key: z.string().min(1).max(128).optional(),
  })
  .refine((f) => f.generation_id !== undefined || f.text !== undefined, {
    message: 'feedback needs generation_id or text',
    path: ['text'],
  })
  .meta({ id: 'FeedbackRequest' });
export type FeedbackRequest = z.infer<typeof feedbackRequest>;

/** 201 when recorded, 200 when the idempotency key was seen before (the same id). */
export const feedbackResponse = z.object({ id: z.string() }).meta({ id: 'FeedbackResponse' });
export type FeedbackResponse = z.infer<typeof feedbackResponse>;

// ── /v1/users/{user} ────────────────────────────────────────────────────────────────────────────────

export const userParams = z.object({ user: userId });

/**
 * A signed download link of one stored file: immutable (the link names the content's SHA-256, and a link whose
 * file changed answers 410), valid until `expires_at`. A device caches the bytes by `sha256`.
 */
export const fileLink = z
  .object({
    name: z.string(),
    url: z.string(),
    expires_at: isoTime,
    sha256: z.string(),
    size: z.int(),
  })
  .meta({ id: 'FileLink' });
export type FileLink = z.infer<typeof fileLink>;

/** An active style adapter version of the app, with its files: what a device needs to compose it. */
export const styleFiles = z
  .object({ id: z.string(), version: z.string(), files: z.array(fileLink) })
  .meta({ id: 'StyleFiles' });

export const userAdapterResponse = z
  .object({
    version: z.string(),
    created_at: isoTime,
    base_model: z.string(),
    metrics: adapterMetrics,
    /** The weights' link (kept for older clients; `files` has it too). */
    download: z.object({ url: z.string(), expires_at: isoTime }),
    /** Every file of the version: adapter_config.json, adapter_model.safetensors and tailor.json. */
    files: z.array(fileLink),
    /** The app's active styles, each with its files, for a device that composes them. */
    styles: z.array(styleFiles),
  })
  .meta({ id: 'UserAdapterResponse' });
export type UserAdapterResponse = z.infer<typeof userAdapterResponse>;

// DELETE /v1/users/{user} answers 204 with no body.

// ── /v1/models/{model}/files ──────────────────────────────────────────────────────────────────────

export const modelParams = z.object({ model: z.string().min(1).max(128) });

/** The base model package a device downloads once to generate on its own. */
export const modelFilesResponse = z
  .object({
    id: z.string(),
    /** SHA-256 of the weights: what every adapter package names as its base model. */
    hash: z.string(),
    /** config.json, tokenizer.json, tokenizer_config.json and model.onnx. */
    files: z.array(fileLink),
  })
  .meta({ id: 'ModelFilesResponse' });
export type ModelFilesResponse = z.infer<typeof modelFilesResponse>;

// ── admin ───────────────────────────────────────────────────────────────────────────────────────────

export const createAppRequest = z
  .strictObject({ name: z.string().trim().min(1).max(128) })
  .meta({ id: 'CreateAppRequest' });
export type CreateAppRequest = z.infer<typeof createAppRequest>;

/** The key and the secret are shown this once. */
export const createAppResponse = z
  .object({
    app_id: z.string(),
    name: z.string(),
    api_key: z.string(),
    signing_secret: z.string(),
  })
  .meta({ id: 'CreateAppResponse' });
export type CreateAppResponse = z.infer<typeof createAppResponse>;

export const appParams = z.object({ app: z.string().min(1).max(64) });
export const jobParams = z.object({ id: z.string().min(1).max(64) });

/** Query strings arrive as text: numbers are coerced. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export const appItem = z
  .object({ id: z.string(), name: z.string(), created_at: isoTime })
  .meta({ id: 'App' });
/** An app with its users and last week's volume (the apps list). */
export const appSummaryItem = appItem
  .extend({ users: z.int(), generations_7d: z.int(), feedback_7d: z.int() })
  .meta({ id: 'AppSummary' });
export const listAppsResponse = page(appSummaryItem);

export const userItem = z
  .object({ user: z.string(), created_at: isoTime, last_seen: isoTime })
  .meta({ id: 'EndUser' });
export const listUsersQuery = pageQuery.extend({
  /** Users whose id starts with this. */
  q: z.string().min(1).max(128).optional(),
});
export const listUsersResponse = page(userItem);

export const feedbackItem = z
  .object({
    id: z.string(),
    user: z.string(),
    generation_id: z.string().nullable(),
    prompt: z.string().nullable(),
    text: z.string(),
    rating,
    edited_text: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    created_at: isoTime,
  })
  .meta({ id: 'Feedback' });
export const listFeedbackQuery = pageQuery.extend({ user: userId.optional() });
export const listFeedbackResponse = page(feedbackItem);

export const generationItem = z
  .object({
    id: z.string(),
    user: z.string(),
    prompt: z.string(),
    text: z.string(),
    adapter_version: z.string().nullable(),
    styles: z.array(z.object({ id: z.string(), weight: z.number() })),
    finish_reason: z.string(),
    usage: z.object({ prompt_tokens: z.int(), completion_tokens: z.int() }),
    timings_ms: z.record(z.string(), z.number()),
    /** Its arm in the app's holdout experiment, or null when it was not in it. */
    arm: experimentArm.nullable(),
    created_at: isoTime,
  })
  .meta({ id: 'Generation' });
export const listGenerationsQuery = listFeedbackQuery;
export const listGenerationsResponse = page(generationItem);

export const adapterStatus = z.enum(['training', 'candidate', 'active', 'rejected', 'retired']);
export const adapterItem = z
  .object({
    id: z.string(),
    kind: z.enum(['user', 'style']),
    user: z.string().nullable(),
    style: z.string().nullable(),
    version: z.string(),
    status: adapterStatus,
    metrics: adapterMetrics,
    storage_prefix: z.string(),
    base_model: z.string(),
    created_at: isoTime,
    promoted_at: isoTime.nullable(),
  })
  .meta({ id: 'Adapter' });
export const listAdaptersQuery = pageQuery.extend({
  user: userId.optional(),
  style: z.string().min(1).max(64).optional(),
  status: adapterStatus.optional(),
});
export const listAdaptersResponse = page(adapterItem);

export const jobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);
export const jobItem = z
  .object({
    id: z.string(),
    kind: z.enum(Object.keys(jobPayloads) as [keyof typeof jobPayloads, ...(keyof typeof jobPayloads)[]]),
    app_id: z.string().nullable(),
    status: jobStatus,
    attempts: z.int(),
    max_attempts: z.int(),
    payload: z.union([jobPayloads['train-users'], jobPayloads['train-style']]),
    progress: jobProgress,
    result: jobResult.nullable(),
    error: z.string().nullable(),
    /** The job's log (GET /admin/jobs/{id} only). */
    log: z.string().optional(),
    created_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
  })
  .meta({ id: 'Job' });
export const listJobsQuery = pageQuery.extend({
  app: z.string().min(1).max(64).optional(),
  status: jobStatus.optional(),
  kind: z.string().min(1).max(64).optional(),
});
export const listJobsResponse = page(jobItem);

export const trainingRunRequest = z
  .strictObject({
    app: z.string().min(1).max(64).optional(),
    users: z.array(userId).min(1).max(1000).optional(),
    /** Answer when the cycle has finished, with the jobs as they ended. */
    wait: z.boolean().default(false),
  })
  .meta({ id: 'TrainingRunRequest' });
export type TrainingRunRequest = z.infer<typeof trainingRunRequest>;
export const trainingRunResponse = z.object({ jobs: z.array(jobItem) });

/** As any user, with any version: what the console's compare view calls. `user` is required here. */
export const adminGenerateRequest = generateRequest.extend({ user: userId });

// ── app settings (admin) ────────────────────────────────────────────────────────────────────────────

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

// ── style adapters (admin) ─────────────────────────────────────────────────────────────────────────

/** Train a style adapter from texts given here, or from a Brown corpus genre's training passages. */
export const styleTrainRequest = z
  .strictObject({
    style: styleId,
    genre: z.string().min(1).max(64).optional(),
    texts: z.array(z.string().min(1).max(200_000)).min(1).max(10_000).optional(),
  })
  .refine((r) => (r.genre === undefined) !== (r.texts === undefined), {
    message: 'name exactly one of genre or texts',
    path: ['genre'],
  });
export type StyleTrainRequest = z.infer<typeof styleTrainRequest>;
export const styleTrainResponse = z.object({ job: jobItem });

/** Import an existing PEFT LoRA adapter as the style's new active version (the two files, base64). */
export const styleImportRequest = z.strictObject({
  style: styleId,
  adapter_config: z.base64(),
  adapter_model: z.base64(),
});
export type StyleImportRequest = z.infer<typeof styleImportRequest>;
export const styleImportResponse = z.object({ adapter: adapterItem, retired: adapterItem.nullable() });

/** The owner of an adapter: a user, or an app-level style. Exactly one. */
const adapterOwner = z
  .strictObject({
    app: z.string().min(1).max(64),
    user: userId.optional(),
    style: z.string().min(1).max(64).optional(),
  })
  .refine((o) => (o.user === undefined) !== (o.style === undefined), {
    message: 'name exactly one of user or style',
    path: ['user'],
  });

export const promoteRequest = z.intersection(adapterOwner, z.object({ version: adapterVersion }));
export type PromoteRequest = z.infer<typeof promoteRequest>;
export const rollbackRequest = adapterOwner;
export type RollbackRequest = z.infer<typeof rollbackRequest>;

/** After a promotion or rollback: the active version and the one it replaced. */
export const activeFlipResponse = z.object({ active: adapterItem, retired: adapterItem.nullable() });
export type ActiveFlipResponse = z.infer<typeof activeFlipResponse>;

// ── system ──────────────────────────────────────────────────────────────────────────────────────────

export const healthResponse = z
  .object({
    status: z.enum(['ok', 'degraded']),
    database: z.enum(['ok', 'unreachable']),
    base_model: z.string(),
    check_ms: z.number(),
  })
  .meta({ id: 'Health' });

// ── console (admin) ─────────────────────────────────────────────────────────────────────────────────

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

export const apiKeyItem = z
  .object({ id: z.string(), prefix: z.string(), created_at: isoTime, revoked_at: isoTime.nullable() })
  .meta({ id: 'ApiKey' });
export const listApiKeysResponse = z.object({ items: z.array(apiKeyItem) });
/** The new key is shown this once. */
export const createApiKeyResponse = z.object({ key: apiKeyItem, api_key: z.string() });
export const apiKeyParams = z.object({ app: appParams.shape.app, key: z.string().min(1).max(64) });

export const signingSecretItem = z
  .object({
    /** The `kid` to put in a token's header. */
    kid: z.string(),
    created_at: isoTime,
    /** When tokens signed with it stop verifying; null: the current secret. */
    retires_at: isoTime.nullable(),
  })
  .meta({ id: 'SigningSecret' });
export const listSigningSecretsResponse = z.object({ items: z.array(signingSecretItem) });
export const rotateSigningSecretRequest = z.strictObject({
  /** Seconds the secrets in use until now keep verifying tokens. Default a day. */
  overlap_s: z
    .int()
    .min(0)
    .max(30 * 24 * 3600)
    .default(86_400),
});
/** The new secret is shown this once. */
export const rotateSigningSecretResponse = z.object({
  kid: z.string(),
  signing_secret: z.string(),
  retiring: z.array(signingSecretItem),
});

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

/** Scores under any user's adapters, for the console's playground. `user` is required here. */
export const adminScoreRequest = scoreRequest.extend({ user: userId });

export const styleItem = z
  .object({
    style: z.string(),
    active_version: z.string().nullable(),
    versions: z.int(),
    updated_at: isoTime,
  })
  .meta({ id: 'Style' });
export const listStylesResponse = z.object({ items: z.array(styleItem) });

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

export const auditItem = z
  .object({
    id: z.string(),
    at: isoTime,
    actor: z.string(),
    action: z.string(),
    app_id: z.string().nullable(),
    subject: z.string().nullable(),
    subject_kind: z
      .enum(auditSubjectKinds)
      .nullable()
      .describe(
        'what `subject` names: a user, a style, an API key, a signing secret, an app, a webhook endpoint',
      ),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .meta({ id: 'AuditEntry' });
export const listAuditQuery = pageQuery.extend({
  app: z.string().min(1).max(64).optional(),
  action: z.string().min(1).max(64).optional(),
});
export const listAuditResponse = page(auditItem);

// ── users' rights ───────────────────────────────────────────────────────────────────────────────────

/** Everything Tailor stores about one user of an app (GET /v1/users/{user}/export). */
export const userExportResponse = z
  .object({
    app_id: z.string(),
    user: z.string(),
    exported_at: isoTime,
    /** null when the user was never seen (nothing stored). */
    profile: z
      .object({ created_at: isoTime, last_seen: isoTime, training_opted_out_at: isoTime.nullable() })
      .nullable(),
    feedback: z.array(feedbackItem),
    generations: z.array(generationItem),
    /** Every adapter version trained for them, with its metrics (which feedback it trained on, its losses). */
    adapters: z.array(adapterItem),
  })
  .meta({ id: 'UserExport' });
export type UserExport = z.infer<typeof userExportResponse>;

export const userTrainingRequest = z
  .strictObject({ enabled: z.boolean() })
  .meta({ id: 'UserTrainingRequest' });
export const userTrainingResponse = z
  .object({
    user: z.string(),
    enabled: z.boolean(),
    /** When the user opted out; null while training is enabled. */
    opted_out_at: isoTime.nullable(),
    /** The version retired by this opt-out (the user is served the base model now), if any. */
    retired_version: z.string().nullable(),
  })
  .meta({ id: 'UserTraining' });
