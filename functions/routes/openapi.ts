// GET /openapi.json: the OpenAPI document, generated from the route definitions themselves (every route is
// defined with its schemas through @hono/zod-openapi). GET /docs: Swagger UI over it, with "try it out";
// its files are served by the platform itself (deps.assets), never from a CDN.
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { json, type Routes, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';

export const DOCS_ASSETS = '/docs/assets/';
/** Swagger UI's files the page loads (from the swagger-ui-dist package), served under DOCS_ASSETS. */
export const DOCS_ASSET_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'];

const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['system'],
  summary: 'This document',
  security: [],
  responses: { 200: json(z.record(z.string(), z.unknown()), 'OpenAPI 3.0') },
});

const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['system'],
  summary: 'The API reference in a browser (Swagger UI), with "try it out"',
  security: [],
  responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
});

const DESCRIPTION = `Per-user LoRA adapters on a shared story model.

**Authentication.** Apps call \`/v1/*\` with \`Authorization: Bearer <API key>\` (server to server: the body or path
names the end \`user\`), or with a **user token**: a JWT signed HS256 with the app's signing secret, \`sub\` = the
user, \`exp\` required, \`kid\` = the secret's id (\`sks_…\`) or the app id (or \`iss\` = the app id) required. A user
token acts for its user only. Rate limits count units of work: a generation of up to 128 requested tokens (OpenAI's
\`n\` choices are n generations), a scored text, or any other call.
The admin API (\`/admin/*\`) takes \`Authorization: Bearer <ADMIN_TOKEN>\`.

**Errors** are JSON \`{ "error": { "code", "message", "details"? } }\`; a validation error (422) lists each field in
\`details.issues\`. Bad input changes nothing.`;

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tailor API reference</title>
<link rel="stylesheet" href="${DOCS_ASSETS}swagger-ui.css">
<link rel="icon" href="${DOCS_ASSETS}favicon-32x32.png">
<style>body { margin: 0 } .topbar { display: none }</style>
</head><body><div id="ui"></div>
<script src="${DOCS_ASSETS}swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: '/openapi.json', dom_id: '#ui', deepLinking: true, tryItOutEnabled: true,
  persistAuthorization: false, displayRequestDuration: true, docExpansion: 'list', defaultModelsExpandDepth: 0,
});
</script></body></html>`;

/** The document's header; the paths and components come from the routes mounted on `app`. */
export function openApiDocument(app: Routes): Record<string, unknown> {
  app.openAPIRegistry.registerComponent('securitySchemes', 'appKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      "An app's API key (`tlk_…`), or a user token (JWT HS256 signed with the app's signing secret)",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The platform’s ADMIN_TOKEN',
  });
  return app.getOpenAPIDocument({
    openapi: '3.0.3',
    info: { title: 'Tailor API', version: '1.0.0', description: DESCRIPTION },
    tags: [
      { name: 'generate', description: 'Text for a user, and scores of texts under their adapter' },
      {
        name: 'feedback',
        description: 'What users liked, disliked and corrected: their adapters’ training data',
      },
      { name: 'users', description: 'A user’s adapter (to run on the device) and erasure' },
      { name: 'apps', description: 'Apps, their settings, users, feedback and generations' },
      { name: 'training', description: 'Training cycles, jobs and style adapters' },
      { name: 'adapters', description: 'Adapter versions, promotion and rollback' },
      { name: 'system', description: 'Health, metrics and this reference' },
    ],
  }) as unknown as Record<string, unknown>;
}

export function openApiRoutes(s: Services, document: () => Record<string, unknown>) {
  const r = routes()
    .openapi(openApiRoute, (c) => c.json(document(), 200))
    .openapi(docsRoute, (c) => c.html(DOCS_HTML, 200));
  r.get(`${DOCS_ASSETS}*`, async (c) => {
    const file = c.req.path.slice(DOCS_ASSETS.length);
    const asset = (await s.assets?.get(`docs/${file}`)) ?? null;
    if (!asset) return c.notFound();
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      'cache-control': 'public, max-age=86400',
    });
  });
  return r;
}
