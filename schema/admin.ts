// The admin API as zod schemas: apps, their users, feedback and generations, adapter versions (promotion,
// rollback, styles trained or imported), training jobs, keys and signing secrets, the audit log, and
// generation or scoring as any user. The console's own views are in console.ts, app settings in settings.ts.

import { z } from 'zod';
import { adapterItem, adapterStatus, feedbackItem, generationItem } from './items.js';
import { adapterVersion, isoTime, userId } from './shared.js';
import { auditSubjectKinds } from './tables.js';
import { baseModelName, jobPayloads, jobProgress, jobResult, styleId } from './training.js';
import { generateRequest, scoreRequest } from './v1.js';

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

export const listFeedbackQuery = pageQuery.extend({ user: userId.optional() });
export const listFeedbackResponse = page(feedbackItem);

export const listGenerationsQuery = listFeedbackQuery;
export const listGenerationsResponse = page(generationItem);

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
    payload: z.union([jobPayloads['train-users'], jobPayloads['train-style'], jobPayloads['import-model']]),
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

/** Scores under any user's adapters, for the console's playground. `user` is required here. */
export const adminScoreRequest = scoreRequest.extend({ user: userId });

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

// ── keys and signing secrets (admin) ─────────────────────────────────────────────────────────────────

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

export const styleItem = z
  .object({
    style: z.string(),
    active_version: z.string().nullable(),
    versions: z.int(),
    updated_at: isoTime,
  })
  .meta({ id: 'Style' });
export const listStylesResponse = z.object({ items: z.array(styleItem) });

// ── audit log (admin) ───────────────────────────────────────────────────────────────────────────────

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

// ── base models ────────────────────────────────────────────────────────────────────────────────────

export const modelUploadParams = z.object({
  upload: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  file: z.string().min(1).max(255),
});
export const modelUploadResponse = z.object({ key: z.string(), size: z.int() });

/** One of `upload` (files put with PUT /admin/model-uploads), `path` (under the import roots) or `prefix`. */
export const importModelRequest = z
  .strictObject({
    name: baseModelName,
    upload: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .optional(),
    path: z.string().min(1).max(4096).optional(),
    prefix: z
      .string()
      .regex(/^imports\/[A-Za-z0-9._-]+\/$/)
      .optional(),
    /** The served graph's weights: `none` (fp32, the default) or `int8` (MatMulInteger; see operations.md). */
    quantize: z.enum(['none', 'int8']).optional(),
  })
  .refine((r) => [r.upload, r.path, r.prefix].filter((v) => v !== undefined).length === 1, {
    message: 'name exactly one of upload, path, prefix',
  })
  .meta({ id: 'ImportModelRequest' });

/** What the strict reader found in the checkpoint. */
export const checkpointSummary = z.object({
  family: z.string(),
  architecture: z.string(),
  dtype: z.string(),
  params: z.number(),
  weightFiles: z.array(z.string()),
  tokenizer: z.string(),
  vocabSize: z.number(),
  tokenizerSize: z.number(),
  context: z.number(),
  hasChatTemplate: z.boolean(),
  addBos: z.boolean(),
  bosTokenId: z.number().nullable(),
  eosTokenIds: z.array(z.number()),
});
export const importModelResponse = z.object({ job: jobItem, checkpoint: checkpointSummary });

export const baseModelItem = z
  .object({
    id: z.string(),
    hash: z.string(),
    family: z.string(),
    /** Positions served per sequence. */
    context: z.number(),
    /** What the import measured (parity, bits per byte, sizes); null for the shipped base. */
    imported: z.record(z.string(), z.unknown()).nullable(),
    created_at: isoTime,
  })
  .meta({ id: 'BaseModel' });
export const listModelsResponse = z.object({
  default: z.string(),
  models: z.array(baseModelItem),
  imports: z.array(jobItem),
});
