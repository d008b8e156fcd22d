// GET /example/: the example app (example/), a reader's page built on the SDK alone: it streams a
// continuation from the server or generates it on the device, and sends likes, dislikes and edits. Its files
// come from deps.assets (example/dist on Node, plus onnxruntime-web's wasm under ort/ for on-device runs).
import { notFound } from '../http/errors.js';
import { routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';

export const EXAMPLE_PATH = '/example/';
/** A file of the build (no folders but ort/), nothing that walks out of it. */
const FILE = /^(ort\/)?[\w-]+(\.[\w-]+)*$/;

const CSP = [
  "default-src 'self'",
  // onnxruntime-web compiles its wasm: allowed, and nothing else that evaluates code.
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  // Signed links of an S3-compatible store point at the store's own origin.
  "connect-src 'self' https:",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export function exampleRoutes(s: Services) {
  const r = routes();
  r.get('/example', (c) => c.redirect(EXAMPLE_PATH, 301));
  r.get(`${EXAMPLE_PATH}*`, async (c) => {
    const rest = c.req.path.slice(EXAMPLE_PATH.length) || 'index.html';
    if (!FILE.test(rest)) return c.notFound();
    const asset = (await s.assets?.get(`example/${rest}`)) ?? null;
    if (!asset) {
      throw notFound(
        rest === 'index.html'
          ? 'The example app is not built. `npm start` builds it; or run `bash scripts/build-example.sh`.'
          : `no example file ${rest}`,
      );
    }
    const page = rest === 'index.html';
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      // Chunks are content-hashed; app.js and the page are not: revalidate those.
      'cache-control': /-[A-Z0-9]{8}\.js|^ort\//.test(rest)
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(page ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {}),
    });
  });
  return r;
}
