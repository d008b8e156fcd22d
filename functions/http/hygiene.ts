// What no route accepts, refused before any of them runs (so nothing is written and no inference is spent):
// malformed percent-encoding (422), NUL characters anywhere (PostgreSQL cannot store them), lone surrogates in
// a body's strings (ill-formed UTF-16: jsonb refuses them, text would turn them into U+FFFD), and a body sent
// as anything but JSON.
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

/** A high surrogate not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What no string of a body may hold, if any: walked without recursion (a body can nest deeper than a stack). */
function unstorable(body: unknown): 'nul' | 'surrogate' | null {
  const todo: unknown[] = [body];
  const check = (s: string) => (s.includes('\0') ? 'nul' : LONE_SURROGATE.test(s) ? 'surrogate' : null);
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v === 'string') {
      const bad = check(v);
      if (bad) return bad;
    } else if (Array.isArray(v)) {
      for (const x of v) todo.push(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const bad = check(k);
        if (bad) return bad;
        todo.push(x);
      }
    }
  }
  return null;
}

const nulRefused = (where: string) =>
  invalid(`invalid request: ${where} contains a NUL character (\\u0000), which is not accepted`, {
    issues: [{ path: where, message: 'NUL characters are not accepted' }],
  });
const surrogateRefused = () =>
  invalid(
    'invalid request: body contains a lone surrogate (\\uD800-\\uDFFF unpaired), which is not accepted',
    {
      issues: [{ path: 'body', message: 'lone surrogates (ill-formed UTF-16) are not accepted' }],
    },
  );

export async function requestHygiene(c: Context, next: Next): Promise<void> {
  const url = new URL(c.req.url);
  if (decoded(url.pathname, 'path').includes('\0')) throw nulRefused('path');
  if (decoded(url.search.replace(/\+/g, ' '), 'query').includes('\0')) throw nulRefused('query');
  const type = c.req.header('content-type');
  // A checkpoint file's bytes (PUT /admin/model-uploads/…): not JSON, read by its route as they arrive.
  const upload = c.req.method === 'PUT' && url.pathname.startsWith('/admin/model-uploads/');
  if (type !== undefined && !upload && ['POST', 'PUT', 'PATCH'].includes(c.req.method)) {
    const media = (type.split(';')[0] ?? '').trim().toLowerCase();
    if (!JSON_TYPES.has(media)) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'the body must be JSON, sent with content-type: application/json',
      );
    }
    const text = await c.req.text(); // cached: the route's validator reads the same body
    // Only an escape can put either in a JSON body (raw bytes are decoded as UTF-8, invalid ones to U+FFFD).
    if (/\\u(0000|d[89a-f])/i.test(text)) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest('the body is not valid JSON');
      }
      const bad = unstorable(body);
      if (bad === 'nul') throw nulRefused('body');
      if (bad === 'surrogate') throw surrogateRefused();
    }
  }
  await next();
}
