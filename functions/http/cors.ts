// Browsers may call /v1/* from the web pages an app allows (its settings, `cors.allowed_origins`). A preflight
// names no app (it carries no credentials), so it passes when some app allows its origin; the answer to the
// request itself is refused (403) unless the caller's app allows the origin, so a page can use the apps that
// allow it and no other. Same-origin requests need none of this.
import type { Context, Next } from 'hono';
import { ApiError } from './errors.js';
import type { HonoEnv, Services } from './services.js';

/**
 * The methods /v1 has, in one list: a preflight that leaves one out makes browsers refuse every call with it
 * (PUT /v1/users/{user}/training was). A test checks it against the routes in /openapi.json.
 */
export const API_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
const ALLOW_METHODS = [...API_METHODS, 'OPTIONS'].join(', ');
const ALLOW_HEADERS = 'authorization, content-type';

const crossOrigin = (c: Context, origin: string | undefined): origin is string =>
  origin !== undefined && origin !== new URL(c.req.url).origin;

/** Answers preflights; runs before authentication (a preflight has no Authorization header). */
export function corsPreflight(s: Services) {
  return async function preflight(c: Context<HonoEnv>, next: Next) {
    const origin = c.req.header('origin');
    if (
      c.req.method !== 'OPTIONS' ||
      !crossOrigin(c, origin) ||
      !c.req.header('access-control-request-method')
    ) {
      return next();
    }
    if (!(await s.settings.anyAllowsOrigin(origin))) {
      throw new ApiError(403, 'origin_not_allowed', `no app allows requests from ${origin} (settings: cors)`);
    }
    return c.body(null, 204, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  };
}

/**
 * Sets the CORS headers of the answer to come (call it before the route runs: headers set then go into the
 * answer as it is made) when the caller's app allows the page's origin.
 */
export async function corsHeaders(s: Services, c: Context<HonoEnv>): Promise<void> {
  const origin = c.req.header('origin');
  c.header('vary', 'Origin', { append: true });
  if (!crossOrigin(c, origin)) return;
  const caller = c.get('caller');
  if (!caller || caller.kind === 'admin') return;
  const allowed = (await s.settings.of(caller.app.id)).cors.allowed_origins;
  // Refused before the route runs: a page this app does not allow gets nothing done, not only nothing to read
  // (its preflight passed when another app allows it). Clients that are not browsers send no Origin.
  if (!allowed.includes(origin)) {
    throw new ApiError(
      403,
      'origin_not_allowed',
      `this app does not allow requests from ${origin} (settings: cors.allowed_origins)`,
    );
  }
  c.header('access-control-allow-origin', origin);
  c.header('access-control-expose-headers', 'retry-after');
}
