// Errors on the OpenAI-compatible paths, in OpenAI's shape `{ error: { message, type, param, code } }`: those
// already in OpenAI's terms (OpenAiError: the field at fault, OpenAI's code), and every other error as the rest
// of the API answers it (the same status and headers), reworded. app.onError asks which paths these are.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type OpenAiErrorBody, openAiError } from '../../schema/contracts.js';
import { errorResponse } from '../http/errors.js';
import { json } from '../http/openapi.js';

/** The paths whose errors are given in OpenAI's shape (app.onError asks); `/v1/models/{model}/files` is not. */
const OPENAI_PATHS = new Set(['/v1/completions', '/v1/chat/completions', '/v1/models']);
export const isOpenAiPath = (path: string) => {
  const p = path.replace(/\/+$/, '');
  return OPENAI_PATHS.has(p) || /^\/v1\/models\/[^/]+$/.test(p);
};

/** An error already in OpenAI's terms: the field at fault and OpenAI's code. */
export class OpenAiError extends Error {
  override name = 'OpenAiError';
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** A field Tailor cannot honour, or does not know. */
export const refuse = (param: string, message: string) =>
  new OpenAiError(400, message, param, 'unsupported_parameter');
/** A value out of the range Tailor accepts. */
export const outOfRange = (param: string, message: string) =>
  new OpenAiError(400, message, param, 'invalid_value');

const TYPES: Partial<Record<number, string>> = {
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
};
const CODES: Record<string, string> = {
  unauthorized: 'invalid_api_key',
  rate_limited: 'rate_limit_exceeded',
};

/** Any error on these paths as `{ error: { message, type, param, code } }`, with the status and headers the
 * rest of the API gives it (Retry-After on a 429 or 503). */
export async function openAiErrorResponse(
  c: Context,
  err: unknown,
  onInternal?: (err: unknown) => void,
): Promise<Response> {
  if (err instanceof OpenAiError) {
    const body: OpenAiErrorBody = {
      error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code },
    };
    return c.json(body, err.status);
  }
  const res = errorResponse(c, err, onInternal); // sets the headers (Retry-After) on c as well
  const { error } = (await res.json()) as {
    error: { code: string; message: string; details?: { issues?: { path: string }[] } };
  };
  const path = error.details?.issues?.[0]?.path;
  const body: OpenAiErrorBody = {
    error: {
      message: error.message,
      type: TYPES[res.status] ?? (res.status >= 500 ? 'server_error' : 'invalid_request_error'),
      param: path && path !== '(body)' ? path : null,
      code: CODES[error.code] ?? error.code,
    },
  };
  return c.json(body, res.status as ContentfulStatusCode);
}

const ERROR_TEXT = {
  400: 'A field Tailor cannot honour (`param` names it), an unknown field, or a body that is not JSON',
  401: 'No valid credential (API key, user token)',
  403: 'A user token acting for another user, or the admin token',
  404: 'No such model (`GET /v1/models` lists them), adapter version or style',
  409: 'The adapter version named cannot be served',
  413: 'The body is over the size limit',
  415: 'The body is not sent as application/json',
  422: 'A field is invalid: `param` names it',
  429: 'Over a rate limit: retry after `Retry-After` seconds',
  503: 'No engine is available now: retry after `Retry-After` seconds',
} as const;
export function oaErrors(...statuses: (keyof typeof ERROR_TEXT)[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(openAiError, ERROR_TEXT[s])])) as Record<
    keyof typeof ERROR_TEXT,
    ReturnType<typeof json<typeof openAiError>>
  >;
}
