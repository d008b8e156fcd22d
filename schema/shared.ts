// The pieces every audience's contracts share: ids, the error body, adapter and memory choices, styles, the
// holdout arm, a rating. Field names are the wire's snake_case; times on the wire are ISO 8601 strings.

import { z } from 'zod';
import { styleId } from './training.js';

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

export const isoTime = z.iso.datetime({ offset: true });
export const adapterVersion = z.string().min(1).max(128);

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

/** A generation's arm in its app's holdout experiment (settings `experiment`). */
export const experimentArm = z.enum(['personalized', 'holdout']);

export const rating = z.union([z.literal(1), z.literal(-1)]);
