// The one registry of job kinds (their payload schemas are schema/training.ts), shared by the producers (the
// scheduler, the admin API) and the worker. A payload is validated when it is enqueued and again when it is
// claimed; one that does not parse is a permanent failure (another attempt cannot fix it). Web APIs only: the
// API imports this on Workers.
import { z } from 'zod';
import type { TrainingJob } from '../../schema/tables.js';
import { type JobKind, type JobPayload, jobPayloads } from '../../schema/training.js';
import type { Db } from '../db/database.js';
import { enqueueJob } from '../db/jobs.js';

export const JOB_KINDS = Object.keys(jobPayloads) as JobKind[];

/** A failure another attempt cannot fix (bad payload, data the trainer refuses): failed for good at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(jobPayloads, kind);
}

export function parsePayload<K extends JobKind>(kind: K, raw: unknown): JobPayload<K> {
  const parsed = jobPayloads[kind].safeParse(raw);
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
  const checked = jobPayloads[kind].parse(payload);
  return enqueueJob(db, {
    kind,
    payload: checked,
    appId: opts.appId ?? null,
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.delaySeconds !== undefined ? { delaySeconds: opts.delaySeconds } : {}),
  });
}
