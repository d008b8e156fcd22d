// The one error the SDK throws: an HTTP error of the API (its `{ error: { code, message, details } }`), an
// `error` event of a stream, a network failure (status 0, `network_error`) or an abort (status 0, `aborted`).

export class TailorError extends Error {
  override name = 'TailorError';
  /** The HTTP status; 0 when no answer came (network error, abort, a refusal by the SDK itself). */
  status: number;
  /** The API's machine-readable code (`invalid_request`, `rate_limited`, ...) or the SDK's own. */
  code: string;
  /** The API's `details` (for validation errors: `{ issues: [{ path, message }] }`). */
  details?: unknown;
  /** Seconds to wait before trying again, from the answer's `Retry-After`. */
  retryAfter?: number;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: unknown; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.status = status;
    this.code = code;
    if (extra.details !== undefined) this.details = extra.details;
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
  }
}

/** `Retry-After` as seconds: a number of seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** The error of a non-2xx answer, from its body (JSON `{ error }` when the API wrote it, else its status). */
export async function errorFromResponse(res: Response): Promise<TailorError> {
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  let text = '';
  try {
    text = await res.text();
  } catch {}
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {}
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${res.status}`;
  const message =
    typeof e?.message === 'string' ? e.message : `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  return new TailorError(res.status, code, message, {
    ...(e?.details !== undefined ? { details: e.details } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });
}

export const aborted = (cause?: unknown) =>
  new TailorError(0, 'aborted', 'the call was aborted', cause !== undefined ? { cause } : {});
