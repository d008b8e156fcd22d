// Admin: adapter versions (of users and styles), promotion and rollback, and importing a PEFT adapter as a
// style.
import { createRoute } from '@hono/zod-openapi';
import {
  type AdapterOwner,
  listAdapters,
  promoteAdapter,
  rollbackAdapter,
} from '../../../core/db/adapters.js';
import type { AuditSubject } from '../../../core/db/audit.js';
import { getBaseModel } from '../../../core/db/base-models.js';
import { AdapterError } from '../../../engine/index.js';
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
import { importStyleAdapter } from '../../adapters/style-import.js';
import { audit } from '../../http/audit.js';
import { ApiError } from '../../http/errors.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from './apps.js';
import { page, views } from './views.js';

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

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
const ownerOf = (b: { app: string; user?: string; style?: string }): AdapterOwner =>
  b.user !== undefined ? { appId: b.app, userId: b.user } : { appId: b.app, styleId: b.style as string };
const subjectOf = (o: AdapterOwner): AuditSubject =>
  'userId' in o ? { kind: 'user', id: o.userId } : { kind: 'style', id: `style:${o.styleId}` };

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
      const owner = ownerOf(req);
      const flip = await promoteAdapter(s.db, owner, req.version);
      s.adapters.forget(owner);
      await audit(s, c, 'adapter.promoted', {
        appId: owner.appId,
        subject: subjectOf(owner),
        details: { version: flip.active.version, replaced: flip.retired?.version ?? null },
      });
      return c.json(
        { active: views.adapter(flip.active), retired: flip.retired ? views.adapter(flip.retired) : null },
        200,
      );
    })
    .openapi(rollbackRoute, async (c) => {
      const owner = ownerOf(c.req.valid('json'));
      const flip = await rollbackAdapter(s.db, owner);
      s.adapters.forget(owner);
      await audit(s, c, 'adapter.rolled_back', {
        appId: owner.appId,
        subject: subjectOf(owner),
        details: { version: flip.active.version, replaced: flip.retired?.version ?? null },
      });
      return c.json(
        { active: views.adapter(flip.active), retired: flip.retired ? views.adapter(flip.retired) : null },
        200,
      );
    })
    .openapi(styleImportRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const req = c.req.valid('json');
      const base = await getBaseModel(s.db, s.baseModelId);
      if (!base) throw new ApiError(503, 'unavailable', `base model ${s.baseModelId} is not published`);
      const model = s.engine.model(s.baseModelId);
      try {
        const published = await importStyleAdapter(s.db, s.store, {
          appId: app.id,
          styleId: req.style,
          files: { config: fromBase64(req.adapter_config), weights: fromBase64(req.adapter_model) },
          baseModel: { id: base.id, hash: base.hash },
          shape: model.shape,
          limits: { maxRank: model.config.tailor.max_lora_rank, targets: model.config.tailor.lora_targets },
        });
        s.adapters.forget({ appId: app.id, styleId: req.style });
        await audit(s, c, 'style.imported', {
          appId: app.id,
          subject: { kind: 'style', id: `style:${req.style}` },
          details: { version: published.adapter.version },
        });
        return c.json(
          {
            adapter: views.adapter(published.adapter),
            retired: published.retired ? views.adapter(published.retired) : null,
          },
          201,
        );
      } catch (e) {
        if (e instanceof AdapterError) throw new ApiError(422, 'invalid_adapter', e.message);
        throw e;
      }
    });
}
