// The HTTP side of errors: one error type with a status (ApiError), and the one place every error becomes the
// API's error shape `{ error: { code, message, details? } }` (`errorResponse`, used by app.onError and notFound;
// OpenAI's paths reshape its answer). The use cases' UseCaseError gets its status and headers here, by code; the
// engine's codes by engine-errors.ts, the repository's by theirs.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { isDatabaseUnavailable, RepoError } from '../../core/db/errors.js';
import { UseCaseError, type UseCaseErrorCode } from '../usecases/errors.js';
import { engineAnswer } from './engine-errors.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const invalid = (message: string, details?: unknown) =>
  new ApiError(422, 'invalid_request', message, details);

/** A zod failure as a 422 whose message names the fields. */
export function fromZod(error: z.ZodError): ApiError {
  const issues = error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  const summary = issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return invalid(`invalid request: ${summary}${issues.length > 3 ? '; …' : ''}`, { issues });
}

const REPO_STATUS = { not_found: 404, conflict: 409, invalid_cursor: 422 } as const;

/** Each use case error's status; its code is the `error.code` callers read. */
const USE_CASE_STATUS: Record<UseCaseErrorCode, ContentfulStatusCode> = {
  invalid_request: 422,
  invalid_adapter: 422,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

function fromUseCase(err: UseCaseError): ApiError {
  const headers = err.retryAfterS === undefined ? undefined : { 'retry-after': String(err.retryAfterS) };
  return new ApiError(USE_CASE_STATUS[err.code], err.code, err.message, err.details, headers);
}

/** What Hono's own validation middleware throws, in the API's words. */
function fromHono(err: HTTPException): ApiError {
  if (err.status === 415) {
    return new ApiError(
      415,
      'unsupported_media_type',
      'the body must be JSON, sent with content-type: application/json',
    );
  }
  if (err.status === 400 && /JSON/i.test(err.message)) return badRequest('the body is not valid JSON');
  const status = err.status >= 500 ? 500 : (err.status as ContentfulStatusCode);
  return new ApiError(status, status >= 500 ? 'internal' : 'bad_request', err.message || 'bad request');
}

/** Any error as the answer it makes: its status, code, message, details and headers. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UseCaseError) return fromUseCase(err);
  const engine = engineAnswer(err);
  if (engine) return new ApiError(engine.status, engine.code, engine.message, undefined, engine.headers);
  if (err instanceof HTTPException) return fromHono(err);
  if (err instanceof z.ZodError) return fromZod(err);
  if (err instanceof RepoError) return new ApiError(REPO_STATUS[err.code], err.code, err.message);
  if (isDatabaseUnavailable(err)) {
    return new ApiError(503, 'unavailable', 'the database is unavailable; retry later', undefined, {
      'retry-after': '5',
    });
  }
  return new ApiError(500, 'internal', 'internal error');
}

export function errorResponse(c: Context, err: unknown, onInternal?: (err: unknown) => void): Response {
  const e = toApiError(err);
  if (e.status >= 500) onInternal?.(err);
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: e.code, message: e.message },
  };
  if (e.details !== undefined) body.error.details = e.details;
  for (const [k, v] of Object.entries(e.headers ?? {})) c.header(k, v);
  return c.json(body, e.status);
}
