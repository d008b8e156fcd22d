// The platform's tables (PostgreSQL dialect; PGlite runs the same SQL). The one source of the database's
// shape: migrations in `schema/migrations/` are generated from this file with `npm run db:generate`.
//
// Ids are text with a kind prefix (`app_`, `gen_`, ...) made by `core/db/ids.ts`. Timestamps keep
// millisecond precision so that a JS Date round-trips exactly (keyset pagination compares them).
// End users are referenced by (app_id, user_id) — the app's own user id — without a foreign key to
// `end_users`: rows are written before or without the user row, and erasure deletes them explicitly.

import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const apps = pgTable('apps', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** HS256 secret for user tokens (JWT). Stored in clear: verification needs it. */
  signingSecret: text('signing_secret').notNull(),
  createdAt: createdAt(),
});

/** An app may hold several API keys (rotation). Only a SHA-256 hash of each key is stored. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    /** The key's public lookup part (`tlk_<prefix>_...`). */
    prefix: text('prefix').notNull(),
    /** Hex SHA-256 of the whole key. */
    hash: text('hash').notNull(),
    createdAt: createdAt(),
    revokedAt: at('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_prefix_uq').on(t.prefix), index('api_keys_app_idx').on(t.appId)],
);

export const endUsers = pgTable(
  'end_users',
  {
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    createdAt: createdAt(),
    lastSeen: at('last_seen').notNull().defaultNow(),
    /** Set: the user opted out of training (their feedback is kept, no adapter is trained for them). */
    trainingOptOutAt: at('training_opt_out_at'),
  },
  (t) => [
    primaryKey({ columns: [t.appId, t.userId] }),
    index('end_users_app_created_idx').on(t.appId, t.createdAt),
  ],
);

export type StyleWeight = { id: string; weight: number };

export const generationArms = ['personalized', 'holdout'] as const;
export type GenerationArm = (typeof generationArms)[number];

export const generations = pgTable(
  'generations',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    prompt: text('prompt').notNull(),
    text: text('text').notNull(),
    /** The adapter version used, or null for the base model alone. */
    adapterVersion: text('adapter_version'),
    styles: jsonb('styles').$type<StyleWeight[]>().notNull().default([]),
    /** Sampling parameters as requested (temperature, top_p, ...), for reproduction. */
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    finishReason: text('finish_reason').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    timingsMs: jsonb('timings_ms').$type<Record<string, number>>().notNull().default({}),
    /** Why the base model answered instead of the adapters asked for (their load failed), or null. */
    fallbackReason: text('fallback_reason'),
    /**
     * The arm of the app's holdout experiment (settings `experiment`): `personalized` (the user's adapter) or
     * `holdout` (the base model instead); null for a request not in it (no adapter, or one named explicitly).
     */
    arm: text('arm', { enum: generationArms }),
    createdAt: createdAt(),
  },
  (t) => [
    index('generations_app_user_created_idx').on(t.appId, t.userId, t.createdAt),
    index('generations_app_created_idx').on(t.appId, t.createdAt),
    // The effect query reads only the experiment's rows of a period: a small partial index.
    index('generations_app_arm_created_idx').on(t.appId, t.createdAt).where(sql`${t.arm} is not null`),
    check('generations_arm_ck', sql`${t.arm} in ('personalized', 'holdout')`),
  ],
);

export const feedback = pgTable(
  'feedback',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    /** Soft reference: no foreign key, the generation may have been erased. */
    generationId: text('generation_id'),
    prompt: text('prompt'),
    text: text('text').notNull(),
    rating: smallint('rating').notNull(),
    editedText: text('edited_text'),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
  },
  (t) => [
    index('feedback_app_user_created_idx').on(t.appId, t.userId, t.createdAt),
    index('feedback_app_created_idx').on(t.appId, t.createdAt),
    // Ratings of a generation (the effect query joins them to the experiment's generations).
    index('feedback_app_generation_idx')
      .on(t.appId, t.generationId)
      .where(sql`${t.generationId} is not null`),
    // A key is the user's own: another user of the app may use the same one (and learns nothing of it).
    uniqueIndex('feedback_app_user_idempotency_uq')
      .on(t.appId, t.userId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    check('feedback_rating_ck', sql`${t.rating} in (1, -1)`),
  ],
);

export const adapterKinds = ['user', 'style'] as const;
export type AdapterKind = (typeof adapterKinds)[number];
export const adapterStatuses = ['training', 'candidate', 'active', 'rejected', 'retired'] as const;
export type AdapterStatus = (typeof adapterStatuses)[number];

/**
 * One immutable adapter version. A user adapter belongs to (app, user); a style adapter to (app, style).
 * At most one version per owner is `active` (partial unique indexes).
 */
export const adapters = pgTable(
  'adapters',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: adapterKinds }).notNull(),
    userId: text('user_id'),
    styleId: text('style_id'),
    version: text('version').notNull(),
    status: text('status', { enum: adapterStatuses }).notNull(),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull().default({}),
    /** Object-storage prefix of the adapter package, ending with `/`. */
    storagePrefix: text('storage_prefix').notNull(),
    baseModelId: text('base_model_id').notNull(),
    /** created_at of the newest feedback the version was trained on (what is "new" since). */
    dataUntil: at('data_until'),
    jobId: text('job_id'),
    createdAt: createdAt(),
    promotedAt: at('promoted_at'),
  },
  (t) => [
    index('adapters_app_user_status_idx').on(t.appId, t.userId, t.status),
    index('adapters_app_created_idx').on(t.appId, t.createdAt),
    uniqueIndex('adapters_user_version_uq').on(t.appId, t.userId, t.version).where(sql`${t.kind} = 'user'`),
    uniqueIndex('adapters_style_version_uq')
      .on(t.appId, t.styleId, t.version)
      .where(sql`${t.kind} = 'style'`),
    uniqueIndex('adapters_user_active_uq')
      .on(t.appId, t.userId)
      .where(sql`${t.kind} = 'user' and ${t.status} = 'active'`),
    uniqueIndex('adapters_style_active_uq')
      .on(t.appId, t.styleId)
      .where(sql`${t.kind} = 'style' and ${t.status} = 'active'`),
    check(
      'adapters_owner_ck',
      sql`(${t.kind} = 'user' and ${t.userId} is not null and ${t.styleId} is null) or (${t.kind} = 'style' and ${t.styleId} is not null and ${t.userId} is null)`,
    ),
    check(
      'adapters_status_ck',
      sql`${t.status} in ('training', 'candidate', 'active', 'rejected', 'retired')`,
    ),
  ],
);

export const jobStatuses = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/**
 * The training job queue. Workers claim with `FOR UPDATE SKIP LOCKED` and hold a lease
 * (`locked_by`, `locked_until`); a job whose lease expired is taken again until `max_attempts`.
 */
export const trainingJobs = pgTable(
  'training_jobs',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    appId: text('app_id').references(() => apps.id, { onDelete: 'cascade' }),
    status: text('status', { enum: jobStatuses }).notNull().default('queued'),
    payload: jsonb('payload').$type<unknown>().notNull().default({}),
    progress: jsonb('progress').$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb('result').$type<unknown>(),
    log: text('log').notNull().default(''),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    runAfter: at('run_after').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: at('locked_until'),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
  },
  (t) => [
    index('training_jobs_status_run_after_idx').on(t.status, t.runAfter),
    index('training_jobs_created_idx').on(t.createdAt),
    index('training_jobs_app_created_idx').on(t.appId, t.createdAt),
    check('training_jobs_status_ck', sql`${t.status} in ('queued', 'running', 'succeeded', 'failed')`),
  ],
);

/**
 * Each app's settings, as the operator set them: only fields that differ from the platform's defaults (a JSON
 * object shaped like `appSettingsOverrides` in settings.ts). No row: every default applies.
 */
export const appSettings = pgTable('app_settings', {
  appId: text('app_id')
    .primaryKey()
    .references(() => apps.id, { onDelete: 'cascade' }),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/**
 * The secrets user tokens of an app are signed with. Rotation adds one and gives the others a retirement time
 * (an overlap during which tokens signed with them still verify). A token's `kid` names its secret's id (or
 * the app's id: then every unretired secret is tried). The app row's own `signing_secret` keys generation ids.
 */
export const signingSecrets = pgTable(
  'signing_secrets',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    secret: text('secret').notNull(),
    createdAt: createdAt(),
    /** After this, tokens signed with it no longer verify; null: current. */
    retiresAt: at('retires_at'),
  },
  (t) => [index('signing_secrets_app_idx').on(t.appId)],
);

export const auditSubjectKinds = ['user', 'style', 'key', 'secret', 'app', 'webhook'] as const;
export type AuditSubjectKind = (typeof auditSubjectKinds)[number];

/** Who did what to the platform and when: written by the API, read by the console. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: text('id').primaryKey(),
    at: createdAt(),
    /** `admin`, or `app:<id>` for what an app's key did (erasing a user). */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    /** The app concerned; kept when the app's data goes (no foreign key). */
    appId: text('app_id'),
    /** What it was done to: a user id, a style, a key id, a signing secret's id. */
    subject: text('subject'),
    /**
     * What kind of thing `subject` names. Erasing a user deletes only `user` entries: an id chosen by an app can
     * look like anything (`sks_…`, `style:…`) and must never reach the operator's own records.
     */
    subjectKind: text('subject_kind', { enum: auditSubjectKinds }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_app_at_idx').on(t.appId, t.at),
    index('audit_log_app_subject_idx').on(t.appId, t.subjectKind, t.subject),
    check(
      'audit_log_subject_ck',
      sql`(${t.subject} is null) = (${t.subjectKind} is null) and (${t.subjectKind} is null or ${t.subjectKind} in ('user', 'style', 'key', 'secret', 'app', 'webhook'))`,
    ),
  ],
);

export const baseModels = pgTable('base_models', {
  id: text('id').primaryKey(),
  storagePrefix: text('storage_prefix').notNull(),
  /** Hex SHA-256 of the weights the version was trained against. */
  hash: text('hash').notNull(),
  config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
});

export const webhookEventTypes = ['adapter.promoted', 'adapter.rolled_back'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const webhookSignatureSchemes = ['standard', 'legacy'] as const;
export type WebhookSignatureScheme = (typeof webhookSignatureSchemes)[number];

/** Where an app wants to hear of adapter changes (`POST /v1/webhooks`). The secret signs every delivery. */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** The event types it receives. */
    events: jsonb('events').$type<WebhookEventType[]>().notNull(),
    /**
     * The signing secret, `whsec_` + base64 of its key bytes (Standard Webhooks). Stored in clear: signing needs
     * it.
     */
    secret: text('secret').notNull(),
    /**
     * `standard`: deliveries carry Standard Webhooks' headers only. `legacy`: an endpoint registered before they
     * were adopted; its deliveries also carry `Tailor-Signature` (keyed by the secret's text, as before) until
     * its secret is rotated.
     */
    signatureScheme: text('signature_scheme', { enum: webhookSignatureSchemes })
      .notNull()
      .default('standard'),
    /** The secret before the last rotation, which still signs deliveries until `previous_secret_until`. */
    previousSecret: text('previous_secret'),
    previousSecretUntil: at('previous_secret_until'),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_endpoints_app_idx').on(t.appId, t.createdAt)],
);

export const webhookDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/**
 * The outbox: one row per (event, endpoint), written in the transaction that changed the active version, so
 * an event is never lost. Deliverers claim due rows with `FOR UPDATE SKIP LOCKED` and a lease (`locked_by`,
 * `locked_until`); a row whose lease ran out (its deliverer died) is claimed again.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    /** The user the event is about (null: a style's), so that erasing them finds it. */
    userId: text('user_id'),
    event: text('event', { enum: webhookEventTypes }).notNull(),
    /** The JSON body, exactly as sent (and signed) on every attempt. */
    body: text('body').notNull(),
    status: text('status', { enum: webhookDeliveryStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: at('locked_until'),
    /** The HTTP status of the last attempt (null: no answer). */
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    deliveredAt: at('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_app_created_idx').on(t.appId, t.createdAt),
    index('webhook_deliveries_app_user_idx').on(t.appId, t.userId),
    check('webhook_deliveries_status_ck', sql`${t.status} in ('pending', 'delivered', 'failed')`),
  ],
);

/**
 * One row per user ever erased: a keyed hash of (app, user id), never the id itself, and how many times that id
 * was erased (its epoch). A training job records each user's epoch when it reads their feedback; publishing
 * refuses a version whose user's epoch moved since (the user was erased, perhaps re-created, meanwhile).
 */
export const erasedUsers = pgTable(
  'erased_users',
  {
    appId: text('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    /** Hex HMAC-SHA256 of `${app_id}:${user_id}` under the platform's secret (core/erasure/fence.ts). */
    userHash: text('user_hash').notNull(),
    epoch: integer('epoch').notNull().default(1),
    erasedAt: at('erased_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.userHash] })],
);

export const invalidationKinds = ['user_erased', 'key_revoked', 'adapter_activated'] as const;
export type InvalidationKind = (typeof invalidationKinds)[number];

/**
 * What other processes must drop from their caches, in order: an erased user (by the keyed hash above), a revoked
 * API key (its public prefix), an adapter owner whose active version changed. Processes hear of each row by
 * PostgreSQL `NOTIFY` and read the rows after the last they saw (also by polling, where a pooler drops
 * notifications, and on Workers). Rows older than a day are pruned.
 */
export const invalidations = pgTable(
  'invalidations',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    kind: text('kind', { enum: invalidationKinds }).notNull(),
    appId: text('app_id').notNull(),
    subject: text('subject').notNull(),
    at: createdAt(),
  },
  (t) => [index('invalidations_at_idx').on(t.at)],
);

/** The embedded PGlite's tables an erasure left rows in, to be compacted (core/db/compaction.ts). */
export const compactionDebt = pgTable('compaction_debt', {
  tableName: text('table_name').primaryKey(),
  since: at('since').notNull().defaultNow(),
});

/** Facts a process checks at start: the fingerprint of the platform secret every process must share. */
export const platformMeta = pgTable('platform_meta', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

export type App = typeof apps.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type EndUser = typeof endUsers.$inferSelect;
export type Generation = typeof generations.$inferSelect;
export type NewGeneration = typeof generations.$inferInsert;
export type Feedback = typeof feedback.$inferSelect;
export type NewFeedback = typeof feedback.$inferInsert;
export type Adapter = typeof adapters.$inferSelect;
export type NewAdapter = typeof adapters.$inferInsert;
export type TrainingJob = typeof trainingJobs.$inferSelect;
export type BaseModel = typeof baseModels.$inferSelect;
export type AppSettingsRow = typeof appSettings.$inferSelect;
export type SigningSecret = typeof signingSecrets.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type Invalidation = typeof invalidations.$inferSelect;
