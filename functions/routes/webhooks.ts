// Webhooks: an app registers the URLs that hear of its users' adapter changes (`adapter.promoted`,
// `adapter.rolled_back`), with its API key only (a user token may not: a device must not redirect an app's
// events). The app may rotate an endpoint's secret, the replaced one signing beside the new one for an overlap.
// The console reads an app's endpoints and recent deliveries. Delivery itself runs outside the request path
// (core/webhooks/deliverer.ts), on Node only.
import { createRoute } from '@hono/zod-openapi';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  MAX_WEBHOOKS_PER_APP,
  rotateWebhookSecret,
} from '../../core/db/webhooks.js';
import { webhookUrlProblem } from '../../core/webhooks/url.js';
import {
  adminWebhooksResponse,
  appParams,
  DEFAULT_SECRET_OVERLAP_S,
  webhookCreateRequest,
  webhookCreateResponse,
  webhookListResponse,
  webhookParams,
  webhookRotateRequest,
  webhookRotateResponse,
} from '../../schema/contracts.js';
import type { WebhookDelivery, WebhookEndpoint } from '../../schema/tables.js';
import { webhookEventTypes } from '../../schema/tables.js';
import { invalid, notFound } from '../http/errors.js';
import { APP_ERRORS, adminSecurity, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { appOf } from '../usecases/apps.js';
import { audit } from '../usecases/audit.js';
import { keyApp } from '../usecases/caller.js';
import { takeKeyLimit } from '../usecases/rate-limits.js';
import { iso } from '../usecases/views.js';

const tags = ['webhooks'];

const createWebhookRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks',
  tags,
  security: appSecurity,
  summary: 'Register a webhook endpoint',
  description:
    `With the app's API key (not a user token). \`events\` left out: every event. At most ${MAX_WEBHOOKS_PER_APP} ` +
    'endpoints per app (409 beyond). The answer holds the endpoint’s signing secret, shown this once.',
  request: { body: body(webhookCreateRequest) },
  responses: {
    201: json(webhookCreateResponse, 'Registered, with its signing secret'),
    ...errors(...APP_ERRORS, 409),
  },
});
const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks',
  tags,
  security: appSecurity,
  summary: "The app's webhook endpoints",
  responses: { 200: json(webhookListResponse, 'Endpoints, oldest first'), ...errors(401, 403, 429) },
});
const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/v1/webhooks/{id}',
  tags,
  security: appSecurity,
  summary: 'Delete a webhook endpoint',
  description: 'Its deliveries not yet made are dropped.',
  request: { params: webhookParams },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 422, 429) },
});
const rotateWebhookSecretRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/{id}/rotate-secret',
  tags,
  security: appSecurity,
  summary: "Rotate a webhook endpoint's signing secret",
  description:
    "With the app's API key. The answer holds the new secret, shown this once. The replaced secret keeps " +
    `signing deliveries beside it (two \`v1,\` signatures) for \`overlap_s\` seconds (default ${DEFAULT_SECRET_OVERLAP_S}); ` +
    'a legacy endpoint becomes `standard`: no more Tailor-Signature. No body: the default overlap.',
  request: {
    params: webhookParams,
    body: { ...body(webhookRotateRequest), required: false },
  },
  responses: {
    200: json(webhookRotateResponse, 'Rotated, with the new secret'),
    ...errors(...APP_ERRORS, 404),
  },
});
const adminWebhooksRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/webhooks',
  tags,
  security: adminSecurity,
  summary: "An app's webhook endpoints and its latest deliveries",
  request: { params: appParams },
  responses: {
    200: json(adminWebhooksResponse, 'Endpoints and the last 100 deliveries'),
    ...errors(401, 403, 404, 422),
  },
});

const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  signature_scheme: e.signatureScheme,
  previous_secret_until:
    e.previousSecret !== null && e.previousSecretUntil !== null && e.previousSecretUntil > new Date()
      ? e.previousSecretUntil.toISOString()
      : null,
  created_at: e.createdAt.toISOString(),
});

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  event_id: d.eventId,
  endpoint_id: d.endpointId,
  event: d.event,
  user: d.userId,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
  last_status: d.lastStatus,
  last_error: d.lastError,
  created_at: d.createdAt.toISOString(),
  delivered_at: iso(d.deliveredAt),
});

export function webhookRoutes(s: Services) {
  return routes()
    .openapi(createWebhookRoute, async (c) => {
      const app = keyApp(c.get('caller'));
      await takeKeyLimit(s, app.id);
      const req = c.req.valid('json');
      const problem = webhookUrlProblem(req.url, { allowPrivate: s.config.webhooks.allowPrivateUrls });
      if (problem) {
        throw invalid(`invalid request: url: ${problem}`, { issues: [{ path: 'url', message: problem }] });
      }
      const row = await createWebhookEndpoint(s.db, {
        appId: app.id,
        url: req.url,
        events: req.events ?? [...webhookEventTypes],
      });
      return c.json({ ...endpointView(row), secret: row.secret }, 201);
    })
    .openapi(listWebhooksRoute, async (c) => {
      const app = keyApp(c.get('caller'));
      await takeKeyLimit(s, app.id);
      const items = (await listWebhookEndpoints(s.db, app.id)).map(endpointView);
      return c.json({ items, max: MAX_WEBHOOKS_PER_APP }, 200);
    })
    .openapi(deleteWebhookRoute, async (c) => {
      const app = keyApp(c.get('caller'));
      await takeKeyLimit(s, app.id);
      const { id } = c.req.valid('param');
      if (!(await deleteWebhookEndpoint(s.db, app.id, id))) throw notFound(`no webhook endpoint ${id}`);
      return c.body(null, 204);
    })
    .openapi(rotateWebhookSecretRoute, async (c) => {
      const app = keyApp(c.get('caller'));
      await takeKeyLimit(s, app.id);
      const { id } = c.req.valid('param');
      const overlapS = c.req.valid('json').overlap_s ?? DEFAULT_SECRET_OVERLAP_S;
      const row = await rotateWebhookSecret(s.db, app.id, id, overlapS);
      if (!row) throw notFound(`no webhook endpoint ${id}`);
      await audit(s, c.get('caller'), 'webhook.secret_rotated', {
        appId: app.id,
        subject: { kind: 'webhook', id },
        details: { overlap_s: overlapS },
      });
      return c.json({ ...endpointView(row), secret: row.secret }, 200);
    })
    .openapi(adminWebhooksRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const [endpoints, deliveries] = await Promise.all([
        listWebhookEndpoints(s.db, app.id),
        listWebhookDeliveries(s.db, app.id, { limit: 100 }),
      ]);
      return c.json(
        { endpoints: endpoints.map(endpointView), deliveries: deliveries.map(deliveryView) },
        200,
      );
    });
}
