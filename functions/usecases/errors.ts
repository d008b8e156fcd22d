// The one error type of the use cases: a code that says what went wrong in the API's words, a message for
// people, the fields at fault, and when to retry. No HTTP here: the routes' single mapper (http/errors.ts) gives
// each code its status and headers, and OpenAI's paths their own shape on top of that.

/** What a use case can refuse with; each code is also the `error.code` callers read. */
export type UseCaseErrorCode =
  | 'invalid_request'
  | 'invalid_adapter'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'idempotency_conflict'
  | 'rate_limited'
  | 'unavailable';

/** A field at fault: its path in the request (`prompt`, `texts`, `user`) and what is wrong with it. */
export interface Issue {
  path: string;
  message: string;
}

export class UseCaseError extends Error {
  override name = 'UseCaseError';
  constructor(
    readonly code: UseCaseErrorCode,
    message: string,
    readonly details?: { issues: Issue[] },
    /** Seconds after which the same request may succeed (rate limits). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

/** A field the request got wrong, named in the message and in `details.issues`. */
export const invalidInput = (message: string, issue: Issue) =>
  new UseCaseError('invalid_request', message, { issues: [issue] });
export const forbidden = (message: string) => new UseCaseError('forbidden', message);
export const notFound = (message: string) => new UseCaseError('not_found', message);
export const conflict = (message: string) => new UseCaseError('conflict', message);
export const unavailable = (message: string) => new UseCaseError('unavailable', message);
