// Admin: an app's API keys (added, listed, revoked) and its signing secrets (listed, rotated with an overlap).
// New keys and secrets are shown in the answer that makes them, never again.
import { createRoute } from '@hono/zod-openapi';
import type { z } from 'zod';
import {
  createApiKey,
  listApiKeys,
  listSigningSecrets,
  revokeApiKey,
  rotateSigningSecret,
} from '../../../core/db/apps.js';
import {
  apiKeyItem,
  apiKeyParams,
  appParams,
  createApiKeyResponse,
  listApiKeysResponse,
  listSigningSecretsResponse,
  rotateSigningSecretRequest,
  rotateSigningSecretResponse,
  type signingSecretItem,
} from '../../../schema/contracts.js';
import type { ApiKey, SigningSecret } from '../../../schema/tables.js';
import { notFound } from '../../http/errors.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from '../../usecases/apps.js';
import { audit } from '../../usecases/audit.js';
import { iso } from '../../usecases/views.js';

const tags = ['apps'];
const security = adminSecurity;

const listKeysRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/keys',
  tags,
  security,
  summary: "An app's API keys, newest first",
  description: 'Their ids, lookup prefixes and dates: the keys themselves are not kept.',
  request: { params: appParams },
  responses: { 200: json(listApiKeysResponse, 'The keys'), ...errors(401, 403, 404, 422) },
});
const createKeyRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/keys',
  tags,
  security,
  summary: 'Add an API key',
  description:
    'To rotate: add a key, move the app to it, revoke the old one. The key is in this answer only.',
  request: { params: appParams },
  responses: { 201: json(createApiKeyResponse, 'Created'), ...errors(401, 403, 404, 422) },
});
const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/admin/apps/{app}/keys/{key}',
  tags,
  security,
  summary: 'Revoke an API key',
  description:
    'Refused at once by this process and, through the invalidation feed, by every other (within TAILOR_INVALIDATION_POLL_MS where notices are lost).',
  request: { params: apiKeyParams },
  responses: { 200: json(apiKeyItem, 'The revoked key'), ...errors(401, 403, 404, 422) },
});
const listSecretsRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/signing-secrets',
  tags,
  security,
  summary: "An app's signing secrets, oldest first",
  description: "Each one's `kid` and when it retires; the secrets themselves are shown only when made.",
  request: { params: appParams },
  responses: { 200: json(listSigningSecretsResponse, 'The secrets'), ...errors(401, 403, 404, 422) },
});
const rotateSecretRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/signing-secrets/rotate',
  tags,
  security,
  summary: 'Rotate the signing secret',
  description:
    'Makes a new current secret. Tokens signed with the secrets current until now keep verifying for ' +
    '`overlap_s` seconds, so they can be re-minted with the new one (its `kid`) meanwhile.',
  request: { params: appParams, body: body(rotateSigningSecretRequest) },
  responses: { 201: json(rotateSigningSecretResponse, 'Rotated'), ...errors(...ADMIN_ERRORS, 404) },
});

const keyView = (k: ApiKey): z.infer<typeof apiKeyItem> => ({
  id: k.id,
  prefix: `tlk_${k.prefix}`,
  created_at: k.createdAt.toISOString(),
  revoked_at: iso(k.revokedAt),
});
const secretView = (x: SigningSecret): z.infer<typeof signingSecretItem> => ({
  kid: x.id,
  created_at: x.createdAt.toISOString(),
  retires_at: iso(x.retiresAt),
});

export function adminKeyRoutes(s: Services) {
  return routes()
    .openapi(listKeysRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return c.json({ items: (await listApiKeys(s.db, app.id)).map(keyView) }, 200);
    })
    .openapi(createKeyRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const { key, row } = await createApiKey(s.db, app.id);
      await audit(s, c.get('caller'), 'key.created', { appId: app.id, subject: { kind: 'key', id: row.id } });
      return c.json({ key: keyView(row), api_key: key }, 201);
    })
    .openapi(revokeKeyRoute, async (c) => {
      const { app: appId, key } = c.req.valid('param');
      const app = await appOf(s, appId);
      if (!(await revokeApiKey(s.db, app.id, key)))
        throw notFound(`no unrevoked key ${key} in app ${app.id}`);
      s.callers.forgetApps();
      await audit(s, c.get('caller'), 'key.revoked', { appId: app.id, subject: { kind: 'key', id: key } });
      const row = (await listApiKeys(s.db, app.id)).find((k) => k.id === key);
      if (!row) throw notFound(`no key ${key}`);
      return c.json(keyView(row), 200);
    })
    .openapi(listSecretsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return c.json({ items: (await listSigningSecrets(s.db, app.id)).map(secretView) }, 200);
    })
    .openapi(rotateSecretRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const { overlap_s } = c.req.valid('json');
      const { created, retiring } = await rotateSigningSecret(s.db, app.id, overlap_s);
      s.callers.forgetApps();
      await audit(s, c.get('caller'), 'signing_secret.rotated', {
        appId: app.id,
        subject: { kind: 'secret', id: created.id },
        details: { overlap_s },
      });
      return c.json(
        { kid: created.id, signing_secret: created.secret, retiring: retiring.map(secretView) },
        201,
      );
    });
}
