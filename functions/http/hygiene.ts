// What no route accepts, refused before any of them runs (so nothing is written and no inference is spent):
// malformed percent-encoding (422), NUL characters anywhere (PostgreSQL cannot store them), and a body sent as
// anything but JSON.
import type { Context, Next } from 'hono';
import { ApiError, badRequest, invalid } from './errors.js';

/** The media types a body may be sent as. */
const JSON_TYPES = new Set(['application/json']);

function decoded(part: string, where: 'path' | 'query'): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`invalid request: the ${where} has a malformed percent-encoding`, {
      issues: [{ path: where, message: 'malformed percent-encoding' }],
    });
  }
}

function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(hasNul);
  if (v !== null && typeof v === 'object')
    return Object.entries(v).some(([k, x]) => k.includes('\0') || hasNul(x));
  return false;
}

const nulRefused = (where: string) =>
  invalid(`invalid request: ${where} contains a NUL character (\\u0000), which is not accepted`, {
    issues: [{ path: where, message: 'NUL characters are not accepted' }],
  });

export async function requestHygiene(c: Context, next: Next): Promise<void> {
  const url = new URL(c.req.url);
  if (decoded(url.pathname, 'path').includes('\0')) throw nulRefused('path');
  if (decoded(url.search.replace(/\+/g, ' '), 'query').includes('\0')) throw nulRefused('query');
  const type = c.req.header('content-type');
  if (type !== undefined && ['POST', 'PUT', 'PATCH'].includes(c.req.method)) {
    const media = (type.split(';')[0] ?? '').trim().toLowerCase();
    if (!JSON_TYPES.has(media)) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'the body must be JSON, sent with content-type: application/json',
      );
    }
    const text = await c.req.text(); // cached: the route's validator reads the same body
    if (text.includes('\\u0000')) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest('the body is not valid JSON');
      }
      if (hasNul(body)) throw nulRefused('body');
    }
  }
  await next();
}
