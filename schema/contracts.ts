// HTTP API v1 as zod schemas (design.md, "HTTP API v1"): one schema per request and response gives the
// validator, the TS type (z.infer) and the OpenAPI entry (jsonSchemas()). Field names are the wire's
// snake_case. Requests are strict (an unknown field is a 400, so `maxTokens` does not pass silently);
// defaults are applied by parsing. Times on the wire are ISO 8601 strings.

import { z } from 'zod';

// ── shared pieces ───────────────────────────────────────────────────────────────────────────────────

export const USER_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const userId = z.string().regex(USER_ID_PATTERN, 'user ids are 1-128 characters of [A-Za-z0-9_.:@-]');

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;

const isoTime = z.iso.datetime({ offset: true });
const adapterVersion = z.string().min(1).max(128);

/** Which adapter to apply: the user's active one, none (base model alone), or a named version. */
export const adapterChoice = z.union([
  z.literal('auto'),
  z.literal('none'),
  z.strictObject({ version: adapterVersion }),
]);
export type AdapterChoice = z.infer<typeof adapterChoice>;

/** The adapter a response used, or null for the base model alone. */
export const adapterUsed = z.object({ version: z.string() }).nullable();

export const styleWeight = z.strictObject({
  id: z.string().min(1).max(64),
  weight: z.number().min(-2).max(2),
});
export type StyleWeight = z.infer<typeof styleWeight>;

export const finishReason = z.enum(['stop', 'length', 'eos']);

// ── /v1/generate ────────────────────────────────────────────────────────────────────────────────────

export const generateRequest = z.strictObject({
  user: userId,
  prompt: z.string().max(32_768),
  max_tokens: z.int().min(1).max(512).default(64),
  temperature: z.number().min(0).max(2).default(0.8),
  top_p: z.number().gt(0).max(1).default(0.95),
  /** 0 turns top-k off. */
  top_k: z.int().min(0).max(4096).default(50),
  seed: z.int().optional(),
  stop: z.array(z.string().min(1).max(256)).max(4).optional(),
  adapter: adapterChoice.default('auto'),
  styles: z.array(styleWeight).max(4).default([]),
  stream: z.boolean().default(false),
});
export type GenerateRequest = z.infer<typeof generateRequest>;
export type GenerateRequestInput = z.input<typeof generateRequest>;

/** Styles applied with their active versions. */
export const stylesUsed = z.array(z.object({ id: z.string(), version: z.string(), weight: z.number() }));

/** Present when the adapters could not be loaded and the base model answered instead. */
export const adapterFallback = z.object({ reason: z.string() });

export const generateResponse = z.object({
  id: z.string(),
  text: z.string(),
  finish_reason: finishReason,
  adapter: adapterUsed,
  styles: stylesUsed.optional(),
  adapter_fallback: adapterFallback.optional(),
  usage: z.object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) }),
  timings_ms: z.record(z.string(), z.number()),
  /** The seed used (the request's, or a random one): the same seed and options give the same text. */
  seed: z.int(),
});
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

export const scoreRequest = z.strictObject({
  user: userId,
  texts: z.array(z.string().min(1).max(32_768)).min(1).max(16),
  context: z.string().max(32_768).optional(),
  adapter: adapterChoice.default('auto'),
  styles: z.array(styleWeight).max(4).default([]),
});
export type ScoreRequest = z.infer<typeof scoreRequest>;

export const scoreResponse = z.object({
  adapter: adapterUsed,
  styles: stylesUsed.optional(),
  adapter_fallback: adapterFallback.optional(),
  results: z.array(
    z.object({
      tokens: z.int().min(0),
      /** Negative log-likelihood of the text's tokens (nats), summed, and per token. */
      nll: z.number(),
      mean_nll: z.number(),
    }),
  ),
});
export type ScoreResponse = z.infer<typeof scoreResponse>;

// ── /v1/feedback ────────────────────────────────────────────────────────────────────────────────────

export const rating = z.union([z.literal(1), z.literal(-1)]);

/** Points at a generation, or carries the text itself (content the user wrote, liked or disliked). */
export const feedbackRequest = z
  .strictObject({
    user: userId,
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
  });
export type FeedbackRequest = z.infer<typeof feedbackRequest>;

/** 201 when recorded, 200 when the idempotency key was seen before (the same id). */
export const feedbackResponse = z.object({ id: z.string() });
export type FeedbackResponse = z.infer<typeof feedbackResponse>;

// ── /v1/users/{user} ────────────────────────────────────────────────────────────────────────────────

export const userParams = z.object({ user: userId });

export const userAdapterResponse = z.object({
  version: z.string(),
  created_at: isoTime,
  base_model: z.string(),
  metrics: z.record(z.string(), z.unknown()),
  /** Lets the app run the adapter on the device. */
  download: z.object({ url: z.string(), expires_at: isoTime }),
});
export type UserAdapterResponse = z.infer<typeof userAdapterResponse>;

// DELETE /v1/users/{user} answers 204 with no body.

// ── admin ───────────────────────────────────────────────────────────────────────────────────────────

export const createAppRequest = z.strictObject({ name: z.string().trim().min(1).max(128) });
export type CreateAppRequest = z.infer<typeof createAppRequest>;

/** The key and the secret are shown this once. */
export const createAppResponse = z.object({
  app_id: z.string(),
  api_key: z.string(),
  signing_secret: z.string(),
});
export type CreateAppResponse = z.infer<typeof createAppResponse>;

export const appParams = z.object({ app: z.string().min(1).max(64) });

/** Query strings arrive as text: numbers are coerced. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export const userItem = z.object({ user: z.string(), created_at: isoTime, last_seen: isoTime });
export const listUsersQuery = pageQuery;
export const listUsersResponse = page(userItem);

export const feedbackItem = z.object({
  id: z.string(),
  user: z.string(),
  generation_id: z.string().nullable(),
  prompt: z.string().nullable(),
  text: z.string(),
  rating,
  edited_text: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  created_at: isoTime,
});
export const listFeedbackQuery = pageQuery.extend({ user: userId.optional() });
export const listFeedbackResponse = page(feedbackItem);

export const adapterStatus = z.enum(['training', 'candidate', 'active', 'rejected', 'retired']);
export const adapterItem = z.object({
  id: z.string(),
  kind: z.enum(['user', 'style']),
  user: z.string().nullable(),
  style: z.string().nullable(),
  version: z.string(),
  status: adapterStatus,
  metrics: z.record(z.string(), z.unknown()),
  storage_prefix: z.string(),
  base_model: z.string(),
  created_at: isoTime,
  promoted_at: isoTime.nullable(),
});
export const listAdaptersQuery = pageQuery.extend({
  user: userId.optional(),
  style: z.string().min(1).max(64).optional(),
  status: adapterStatus.optional(),
});
export const listAdaptersResponse = page(adapterItem);

export const jobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);
export const jobItem = z.object({
  id: z.string(),
  kind: z.string(),
  app_id: z.string().nullable(),
  status: jobStatus,
  attempts: z.int(),
  max_attempts: z.int(),
  payload: z.unknown(),
  progress: z.record(z.string(), z.unknown()),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  log: z.string().optional(),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
});
export const listJobsQuery = pageQuery.extend({
  app: z.string().min(1).max(64).optional(),
  status: jobStatus.optional(),
  kind: z.string().min(1).max(64).optional(),
});
export const listJobsResponse = page(jobItem);

export const trainingRunRequest = z.strictObject({
  app: z.string().min(1).max(64).optional(),
  users: z.array(userId).min(1).max(1000).optional(),
  /** Answer when the cycle has finished, with the jobs as they ended. */
  wait: z.boolean().default(false),
});
export type TrainingRunRequest = z.infer<typeof trainingRunRequest>;
export const trainingRunResponse = z.object({ jobs: z.array(jobItem) });

// ── style adapters (admin) ─────────────────────────────────────────────────────────────────────────

/** Style ids become storage key segments: the user-id alphabet, at most 64 characters. */
export const STYLE_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;
export const styleId = z
  .string()
  .regex(STYLE_ID_PATTERN, 'style ids are 1-64 characters of [A-Za-z0-9_.:@-]');

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

// ── for the OpenAPI document ────────────────────────────────────────────────────────────────────────

/** Every schema above by its OpenAPI component name; requests and queries are described as sent. */
export const contracts = {
  Error: errorBody,
  GenerateRequest: generateRequest,
  GenerateResponse: generateResponse,
  GenerateTokenEvent: generateStreamEvents.token,
  ScoreRequest: scoreRequest,
  ScoreResponse: scoreResponse,
  FeedbackRequest: feedbackRequest,
  FeedbackResponse: feedbackResponse,
  UserAdapterResponse: userAdapterResponse,
  CreateAppRequest: createAppRequest,
  CreateAppResponse: createAppResponse,
  ListUsersQuery: listUsersQuery,
  ListUsersResponse: listUsersResponse,
  ListFeedbackQuery: listFeedbackQuery,
  ListFeedbackResponse: listFeedbackResponse,
  ListAdaptersQuery: listAdaptersQuery,
  ListAdaptersResponse: listAdaptersResponse,
  ListJobsQuery: listJobsQuery,
  ListJobsResponse: listJobsResponse,
  TrainingRunRequest: trainingRunRequest,
  TrainingRunResponse: trainingRunResponse,
  StyleTrainRequest: styleTrainRequest,
  StyleTrainResponse: styleTrainResponse,
  StyleImportRequest: styleImportRequest,
  StyleImportResponse: styleImportResponse,
  PromoteRequest: promoteRequest,
  RollbackRequest: rollbackRequest,
  ActiveFlipResponse: activeFlipResponse,
} as const;
export type ContractName = keyof typeof contracts;

const isInput = (name: string) => name.endsWith('Request') || name.endsWith('Query');

/**
 * JSON Schemas (OpenAPI 3.0 dialect) of the contracts. Requests and queries are described as clients
 * send them (fields with defaults optional), responses as the server sends them (defaults filled in).
 */
export function jsonSchemas(): Record<ContractName, Record<string, unknown>> {
  const out = {} as Record<ContractName, Record<string, unknown>>;
  for (const [name, schema] of Object.entries(contracts) as [ContractName, z.ZodType][]) {
    out[name] = z.toJSONSchema(schema, {
      target: 'openapi-3.0',
      io: isInput(name) ? 'input' : 'output',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
  }
  return out;
}
