// Admin: adapter versions (of users and styles), promotion and rollback, and importing a PEFT adapter as a
// style. What an activation does is the use case's (usecases/adapters.ts).
import { createRoute } from '@hono/zod-openapi';
import { type AdapterOwner, listAdapters } from '../../../core/db/adapters.js';
import {
  activeFlipResponse,
  appParams,
  listAdaptersQuery,
  listAdaptersResponse,
  promoteRequest,
  rollbackRequest,
  styleImportRequest,
  styleImportResponse,
} from '../../../schema/contracts.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { importStyle, promote, rollback } from '../../usecases/adapters.js';
import { appOf } from '../../usecases/apps.js';
import { page, views } from '../../usecases/views.js';

const tags = ['adapters'];
const security = adminSecurity;

const listAdaptersRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/adapters',
  tags,
  security,
  summary: "An app's adapter versions (of one user or style), newest first",
  request: { params: appParams, query: listAdaptersQuery },
  responses: { 200: json(listAdaptersResponse, 'A page of versions'), ...errors(401, 403, 404, 422) },
});
const promoteRoute = createRoute({
  method: 'post',
  path: '/admin/adapters/promote',
  tags,
  security,
  summary: 'Make a version the active one',
  description: 'Any complete version, a rejected one included; the version it replaces is retired.',
  request: { body: body(promoteRequest) },
  responses: {
    200: json(activeFlipResponse, 'The active version and the one it replaced'),
    ...errors(...ADMIN_ERRORS, 404, 409),
  },
});
const rollbackRoute = createRoute({
  method: 'post',
  path: '/admin/adapters/rollback',
  tags,
  security,
  summary: 'Go back to the version active before',
  request: { body: body(rollbackRequest) },
  responses: {
    200: json(activeFlipResponse, 'The active version and the one it replaced'),
    ...errors(...ADMIN_ERRORS, 404, 409),
  },
});
const styleImportRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/styles/import',
  tags,
  security,
  summary: 'Import a PEFT LoRA adapter as a style',
  description:
    "Its two files, base64: checked against the base model's shape and limits, then published as the " +
    "style's active version.",
  request: { params: appParams, body: body(styleImportRequest) },
  responses: { 201: json(styleImportResponse, 'Imported and active'), ...errors(...ADMIN_ERRORS, 404, 503) },
});

const ownerOf = (b: { app: string; user?: string; style?: string }): AdapterOwner =>
  b.user !== undefined ? { appId: b.app, userId: b.user } : { appId: b.app, styleId: b.style as string };

export function adminAdapterRoutes(s: Services) {
  return routes()
    .openapi(listAdaptersRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const q = c.req.valid('query');
      const where = {
        appId: app.id,
        ...(q.user ? { userId: q.user } : {}),
        ...(q.style ? { styleId: q.style } : {}),
        ...(q.status ? { status: q.status } : {}),
      };
      return c.json(page(await listAdapters(s.db, where, q), views.adapter), 200);
    })
    .openapi(promoteRoute, async (c) => {
      const req = c.req.valid('json');
      const flip = await promote(s, c.get('caller'), ownerOf(req), req.version);
      return c.json(
        { active: views.adapter(flip.active), retired: flip.retired ? views.adapter(flip.retired) : null },
        200,
      );
    })
    .openapi(rollbackRoute, async (c) => {
      const flip = await rollback(s, c.get('caller'), ownerOf(c.req.valid('json')));
      return c.json(
        { active: views.adapter(flip.active), retired: flip.retired ? views.adapter(flip.retired) : null },
        200,
      );
    })
    .openapi(styleImportRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const published = await importStyle(s, c.get('caller'), app, c.req.valid('json'));
      return c.json(
        {
          adapter: views.adapter(published.adapter),
          retired: published.retired ? views.adapter(published.retired) : null,
        },
        201,
      );
    });
}
