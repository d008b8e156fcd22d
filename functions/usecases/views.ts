// Rows as the API shows them (the admin listings, a user's export): the wire's snake_case and ISO times,
// typed by the contracts.
import type { z } from 'zod';
import type { Page } from '../../core/db/pagination.js';
import type {
  adapterItem,
  appItem,
  feedbackItem,
  generationItem,
  JobKind,
  JobPayload,
  jobItem,
  OwnerOutcome,
  TrainUsersResult,
  userItem,
} from '../../schema/contracts.js';
import type { Adapter, App, EndUser, Feedback, Generation, TrainingJob } from '../../schema/tables.js';

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const page = <T, U>(p: Page<T>, view: (row: T) => U) => ({
  items: p.items.map(view),
  next_cursor: p.nextCursor,
});

export const views = {
  app: (a: App): z.infer<typeof appItem> => ({
    id: a.id,
    name: a.name,
    created_at: a.createdAt.toISOString(),
  }),
  user: (u: EndUser): z.infer<typeof userItem> => ({
    user: u.userId,
    created_at: u.createdAt.toISOString(),
    last_seen: u.lastSeen.toISOString(),
  }),
  feedback: (f: Feedback): z.infer<typeof feedbackItem> => ({
    id: f.id,
    user: f.userId,
    generation_id: f.generationId,
    prompt: f.prompt,
    text: f.text,
    rating: f.rating === 1 ? 1 : -1,
    edited_text: f.editedText,
    idempotency_key: f.idempotencyKey,
    created_at: f.createdAt.toISOString(),
  }),
  generation: (g: Generation): z.infer<typeof generationItem> => ({
    id: g.id,
    user: g.userId,
    prompt: g.prompt,
    text: g.text,
    adapter_version: g.adapterVersion,
    styles: g.styles,
    finish_reason: g.finishReason,
    usage: { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens },
    timings_ms: g.timingsMs,
    arm: g.arm,
    created_at: g.createdAt.toISOString(),
  }),
  adapter: (a: Adapter): z.infer<typeof adapterItem> => ({
    id: a.id,
    kind: a.kind,
    user: a.userId,
    style: a.styleId,
    version: a.version,
    status: a.status,
    metrics: a.metrics,
    storage_prefix: a.storagePrefix,
    base_model: a.baseModelId,
    created_at: a.createdAt.toISOString(),
    promoted_at: iso(a.promotedAt),
  }),
  job: (j: TrainingJob, withLog = false): z.infer<typeof jobItem> => ({
    id: j.id,
    kind: j.kind as JobKind,
    app_id: j.appId,
    status: j.status,
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    payload: j.payload as JobPayload<JobKind>,
    progress: j.progress,
    result: (j.result ?? null) as TrainUsersResult | OwnerOutcome | null,
    error: j.error,
    ...(withLog ? { log: j.log } : {}),
    created_at: j.createdAt.toISOString(),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
  }),
};
