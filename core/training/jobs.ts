// The one registry of job kinds and their payloads, shared by the producers (the scheduler, the admin API)
// and the worker. A payload is validated when it is enqueued and again when it is claimed; one that does not
// parse is a permanent failure (another attempt cannot fix it). Web APIs only: the API imports this on Workers.
import { z } from 'zod';
import { styleId } from '../../schema/contracts.js';
import type { TrainingJob } from '../../schema/tables.js';
import type { Db } from '../db/database.js';
import { enqueueJob } from '../db/jobs.js';
import { recipeOverrides } from './recipe-overrides.js';

const owner = z.object({ appId: z.string().min(1), userId: z.string().min(1) });

export const jobKinds = {
  /** Retrain these users' adapters on one base model, together: one trainer process, one batch. */
  'train-users': z.object({
    baseModel: z.string().min(1),
    users: z.array(owner).min(1).max(1024),
    recipe: recipeOverrides.optional(),
  }),
  /** Train an app-level style adapter from texts given here or a Brown genre's training passages. */
  'train-style': z.object({
    baseModel: z.string().min(1),
    appId: z.string().min(1),
    styleId,
    source: z.union([
      z.strictObject({ texts: z.array(z.string().min(1)).min(1).max(10_000) }),
      z.strictObject({ genre: z.string().min(1).max(64) }),
    ]),
    recipe: recipeOverrides.optional(),
  }),
} as const;

export type JobKind = keyof typeof jobKinds;
export type JobPayload<K extends JobKind> = z.infer<(typeof jobKinds)[K]>;
export const JOB_KINDS = Object.keys(jobKinds) as JobKind[];

/** A failure another attempt cannot fix (bad payload, data the trainer refuses): failed for good at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(jobKinds, kind);
}

export function parsePayload<K extends JobKind>(kind: K, raw: unknown): JobPayload<K> {
  const parsed = jobKinds[kind].safeParse(raw);
  if (!parsed.success) {
    throw new PermanentJobError(`invalid ${kind} payload: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as JobPayload<K>;
}

export async function enqueue<K extends JobKind>(
  db: Db,
  kind: K,
  payload: JobPayload<K>,
  opts: { appId?: string | null; maxAttempts?: number; delaySeconds?: number } = {},
): Promise<TrainingJob> {
  const checked = jobKinds[kind].parse(payload);
  return enqueueJob(db, {
    kind,
    payload: checked,
    appId: opts.appId ?? null,
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.delaySeconds !== undefined ? { delaySeconds: opts.delaySeconds } : {}),
  });
}
