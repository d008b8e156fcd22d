// Stored rows as the API shows them, in the user's export (v1) and in the admin listings alike: a feedback
// item, a generation, an adapter version.

import { z } from 'zod';
import { experimentArm, isoTime, rating } from './shared.js';
import { adapterMetrics } from './training.js';

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
