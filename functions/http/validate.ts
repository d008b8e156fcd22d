// Validation at the door: the JSON body parsed (400 when it is not JSON) and checked by a zod schema (422
// naming the fields), before a handler sees it.
import type { Context } from 'hono';
import type { z } from 'zod';
import { badRequest, fromZod } from './errors.js';

export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw badRequest('the body must be JSON, sent with content-type: application/json');
  }
  try {
    return await c.req.json();
  } catch {
    throw badRequest('the body is not valid JSON');
  }
}

export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
}

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseWith(schema, await readJson(c));
}

export function queryParams<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  return parseWith(schema, c.req.query());
}

export function pathParams<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  return parseWith(schema, c.req.param());
}
