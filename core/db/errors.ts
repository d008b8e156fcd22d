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
