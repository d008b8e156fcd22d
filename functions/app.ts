// The HTTP app, built from injected parts so the same code runs on Node and on Cloudflare Workers. Every route
// is defined with its schemas (functions/http/openapi.ts), which validate requests and make /openapi.json.
// Errors become `{ error: { code, message, details? } }` in one place (onError).
import { bodyLimit } from 'hono/body-limit';
import type { AppDeps } from './deps.js';
import { clientAddress } from './http/client-address.js';
import { corsHeaders, corsPreflight } from './http/cors.js';
import { ApiError, errorResponse, forbidden, notFound } from './http/errors.js';
import { requestHygiene } from './http/hygiene.js';
import { routes } from './http/openapi.js';
import { StageTimes } from './http/server-timing.js';
import { buildServices, type Services } from './http/services.js';
import { isOpenAiPath, openAiErrorResponse } from './openai/errors.js';
import { adminAdapterRoutes } from './routes/admin/adapters.js';
import { adminAppRoutes } from './routes/admin/apps.js';
import { adminEffectRoutes } from './routes/admin/effect.js';
import { adminKeyRoutes } from './routes/admin/keys.js';
import { adminModelRoutes } from './routes/admin/models.js';
import { adminOverviewRoutes } from './routes/admin/overview.js';
import { adminTrainingRoutes } from './routes/admin/training.js';
import { consoleRoutes } from './routes/console.js';
import { exampleRoutes } from './routes/example.js';
import { feedbackRoutes } from './routes/feedback.js';
import { fileRoutes } from './routes/files.js';
import { generateRoutes } from './routes/generate.js';
import { modelFileRoutes } from './routes/model-files.js';
import { modelRoutes } from './routes/models.js';
import { openAiRoutes } from './routes/openai.js';
import { openApiDocument, openApiRoutes } from './routes/openapi.js';
import { scoreRoutes } from './routes/score.js';
import { systemRoutes } from './routes/system.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';

export function createApp(deps: AppDeps) {
  const s = buildServices(deps);
  const app = routes();

  app.use('*', async function measure(c, next) {
    const t0 = performance.now();
    c.set('timing', new StageTimes(t0));
    await next();
    const route = c.req.routePath === '/*' ? 'unmatched' : c.req.routePath;
    s.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    s.latency.observe((performance.now() - t0) / 1000, { route });
  });
  const maxBody = deps.config.limits.maxBodyBytes;
  const tooLarge = () => {
    throw new ApiError(413, 'payload_too_large', `the body is over the limit of ${maxBody} bytes`);
  };
  const countedBodyLimit = bodyLimit({ maxSize: maxBody, onError: tooLarge });
  app.use('*', async function limitBody(c, next) {
    // hono's bodyLimit first asks for `c.req.raw.body`, which on Node makes a whole web Request (a stream, an
    // AbortController) for every request with a body, and the route then reads the body through it. A declared
    // length is checked the same way without that; the rest (chunked bodies) is counted by bodyLimit itself.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // A checkpoint's files: their route (admin only, after authentication) takes up to MAX_UPLOAD_BYTES.
    if (c.req.method === 'PUT' && c.req.path.startsWith('/admin/model-uploads/')) return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length || '0', 10) > maxBody ? tooLarge() : next();
    }
    return countedBodyLimit(c, next);
  });
  app.use('*', requestHygiene);
  if (deps.invalidations?.mode === 'per-request') {
    // Workers cannot listen for notices: a request looks at the feed when the last look is old enough.
    app.use('*', async function catchUp(_c, next) {
      await s.invalidator.maybeLook();
      await next();
    });
  }
  app.use('/v1/*', corsPreflight(s));
  app.use('/v1/*', async function authenticateApp(c, next) {
    if (c.req.path.startsWith('/v1/files/')) return next(); // signed links carry their own authorisation
    const timing = c.get('timing');
    const token = s.callers.bearer(c.req.header('authorization'));
    const address = clientAddress(c, deps.config.trustedProxyHeader);
    c.set('caller', await timing.time('auth', () => s.callers.appCaller(token, address)));
    // Before the route, so they go into its answer as it is made (and into an error's): a header set on a
    // finished answer makes Node's adapter turn it into a web Response and copy it, on every request.
    await corsHeaders(s, c);
    await next();
  });
  app.use('/admin/*', async function authenticateAdmin(c, next) {
    const token = s.callers.bearer(c.req.header('authorization'));
    if (!deps.config.adminToken) throw forbidden('the admin API is closed: no ADMIN_TOKEN is configured');
    if (!s.callers.isAdmin(token)) throw forbidden('this route needs the admin token');
    c.set('caller', { kind: 'admin' });
    await next();
  });

  app.route('/', generateRoutes(s));
  app.route('/', openAiRoutes(s));
  app.route('/', modelRoutes(s));
  app.route('/', scoreRoutes(s));
  app.route('/', feedbackRoutes(s));
  app.route('/', userRoutes(s));
  app.route('/', fileRoutes(s));
  app.route('/', webhookRoutes(s));
  app.route('/', modelFileRoutes(s));
  app.route('/', exampleRoutes(s));
  app.route('/', adminAppRoutes(s));
  app.route('/', adminTrainingRoutes(s));
  app.route('/', adminKeyRoutes(s));
  app.route('/', adminOverviewRoutes(s));
  app.route('/', adminEffectRoutes(s));
  app.route('/', adminAdapterRoutes(s));
  app.route('/', adminModelRoutes(s));
  app.route('/', systemRoutes(s));
  app.route('/', consoleRoutes(s));
  let document: Record<string, unknown> | undefined;
  app.route(
    '/',
    openApiRoutes(s, () => {
      document ??= openApiDocument(app);
      return document;
    }),
  );

  app.notFound((c) => errorResponse(c, notFound(`no route ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) =>
    // OpenAI clients read OpenAI's error shape on the OpenAI-compatible paths.
    isOpenAiPath(c.req.path)
      ? openAiErrorResponse(c, err, deps.onError)
      : errorResponse(c, err, deps.onError),
  );
  return { app, services: s as Services };
}
