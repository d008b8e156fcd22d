// Errors the repository raises on purpose; routes map `code` to an HTTP status in one place.

export type RepoErrorCode = 'not_found' | 'conflict' | 'invalid_cursor';

export class RepoError extends Error {
  override name = 'RepoError';
  constructor(
    readonly code: RepoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// Network errors and postgres.js's own connection errors: the database could not be reached, or the
// connection broke. SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shutting down, crashed or
// starting) and 53300 (too many connections) say the same from the server's side.
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * Whether `err` (or an error it wraps: Drizzle puts the driver's error in `cause`) means the database is
 * unavailable for now, as opposed to a query it refused. Such a request may succeed when retried.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE.has(code) || /^08|^57P0[123]$|^53300$/.test(code)))
      return true;
    const errors = (e as { errors?: unknown }).errors; // AggregateError: one per address tried
    if (Array.isArray(errors) && errors.some((x) => isDatabaseUnavailable(x))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
