// Routes are defined once, with their request and response schemas, through @hono/zod-openapi: the same
// definition validates the request, types the handler and becomes the route's entry in /openapi.json. A
// request that fails validation becomes the API's 422 in one place (`defaultHook` → errorResponse).
import { OpenAPIHono } from '@hono/zod-openapi';
import type { z } from 'zod';
import { errorBody } from '../../schema/contracts.js';
import { fromZod } from './errors.js';
import type { HonoEnv } from './services.js';

export type Routes = OpenAPIHono<HonoEnv>;

export function routes(): Routes {
  return new OpenAPIHono<HonoEnv>({
    defaultHook: (result) => {
      if (!result.success) throw fromZod(result.error as z.ZodError);
    },
  });
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** A JSON request body, required. */
export function body<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    ...(description ? { description } : {}),
    content: { 'application/json': { schema } },
  };
}

const ERRORS = {
  400: 'The body is not valid JSON',
  401: 'No valid credential (API key, user token)',
  403: 'The credential may not do this (a user token acting for another user, an app key on the admin API)',
  404: 'No such resource',
  409: 'Conflicts with the current state',
  410: 'The file changed since this link was made: ask for a new link',
  413: 'The body is over the size limit',
  415: 'The body is not sent as application/json',
  422: 'The request is invalid: `error.details.issues` names each field',
  429: 'Over a rate limit: retry after `Retry-After` seconds',
  503: 'A part the route needs is not available now or here: retry after `Retry-After` seconds when given',
} as const;
export type ErrorStatus = keyof typeof ERRORS;

/** The error responses a route can give, each with the shared error body. */
export function errors(...statuses: ErrorStatus[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(errorBody, ERRORS[s])])) as Record<
    ErrorStatus,
    ReturnType<typeof json<typeof errorBody>>
  >;
}

/** What every JSON route of the app API can answer with. */
export const APP_ERRORS: ErrorStatus[] = [400, 401, 403, 413, 415, 422, 429];
export const ADMIN_ERRORS: ErrorStatus[] = [400, 401, 403, 413, 415, 422];

export const appSecurity = [{ appKey: [] }];
export const adminSecurity = [{ adminToken: [] }];
