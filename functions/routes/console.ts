// GET /console/: the admin console, a single-page app built from web/ (index.html plus hashed files under
// assets/). Its files come from deps.assets (web/dist on Node; Workers serve them as static assets). The
// console holds the admin token in its tab's session storage and calls the API like any client.
import { notFound } from '../http/errors.js';
import { routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';

export const CONSOLE_PATH = '/console/';
/** Hashed build output: a file name of the build, nothing that walks out of the folder. */
const ASSET = /^assets\/[\w.-]+$/;

/** The page may load only its own scripts and styles, and talk only to this origin. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Mantine sets style attributes and injects its CSS variables in a <style> element.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export function consoleRoutes(s: Services) {
  const r = routes();
  r.get('/console', (c) => c.redirect(CONSOLE_PATH, 301));
  r.get(`${CONSOLE_PATH}*`, async (c) => {
    const rest = c.req.path.slice(CONSOLE_PATH.length);
    const isAsset = ASSET.test(rest);
    if (!isAsset && rest !== '' && rest !== 'index.html') return c.notFound();
    const asset = (await s.assets?.get(`console/${isAsset ? rest : 'index.html'}`)) ?? null;
    if (!asset) {
      throw notFound(
        isAsset
          ? `no console file ${rest}`
          : 'The console is not built. `npm start` builds it; or run `npx vite build --config web/vite.config.ts`.',
      );
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(isAsset ? {} : { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' }),
    });
  });
  return r;
}
