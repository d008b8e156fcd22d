// GET /v1/models and GET /v1/models/{model}: OpenAI's model list and model, in OpenAI's shapes — the base
// model, and `base:style` for each of the app's active styles (a `model` applying that style). Like every
// call they cost a unit of the caller's rate limits: listing models reads the database.
import { createRoute } from '@hono/zod-openapi';
import { listStyles } from '../../core/db/adapters.js';
import { listBaseModels } from '../../core/db/base-models.js';
import { modelItem, modelList, modelParams } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import { appSecurity, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { OpenAiError, oaErrors } from '../openai/errors.js';
import { callerApp } from '../usecases/caller.js';
import { takeCallerLimits } from '../usecases/rate-limits.js';

export const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['openai'],
  summary: 'OpenAI-compatible model list',
  description:
    "Every published base model (the default first; imported ones too), and `base:style` for each of the app's active styles (a `model` applying that style).",
  security: appSecurity,
  responses: { 200: json(modelList, 'The models'), ...oaErrors(401, 403, 429, 503) },
});

export const modelRoute = createRoute({
  method: 'get',
  path: '/v1/models/{model}',
  tags: ['openai'],
  summary: 'OpenAI-compatible model',
  description: 'One model of `GET /v1/models`: the base model, or `base:style` for an active app style.',
  security: appSecurity,
  request: { params: modelParams },
  responses: { 200: json(modelItem, 'The model'), ...oaErrors(401, 403, 404, 422, 429, 503) },
});

const secs = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * The models an app may name: every published base (the one its requests run on by default first: settings
 * `model.base`, else the platform's), then the app's active styles.
 */
async function modelsOf(s: Services, app: App) {
  const first = (await s.settings.of(app.id)).model.base;
  const bases = (await listBaseModels(s.db)).sort((a, b) => Number(b.id === first) - Number(a.id === first));
  const styles = (await listStyles(s.db, app.id)).filter((st) => st.activeVersion !== null);
  return [
    ...bases.map((base) => ({
      id: base.id,
      object: 'model' as const,
      created: secs(base.createdAt),
      owned_by: 'tailor',
    })),
    ...styles.map((st) => ({
      id: `${s.baseModelId}:${st.styleId}`,
      object: 'model' as const,
      created: secs(st.updatedAt),
      owned_by: app.id,
    })),
  ];
}

export function modelRoutes(s: Services) {
  return routes()
    .openapi(modelsRoute, async (c) => {
      const app = callerApp(c.get('caller'));
      await takeCallerLimits(s, c.get('caller'));
      return c.json({ object: 'list' as const, data: await modelsOf(s, app) }, 200);
    })
    .openapi(modelRoute, async (c) => {
      const app = callerApp(c.get('caller'));
      await takeCallerLimits(s, c.get('caller'));
      const { model } = c.req.valid('param');
      const found = (await modelsOf(s, app)).find((m) => m.id === model);
      if (!found)
        throw new OpenAiError(
          404,
          `The model '${model}' does not exist: GET /v1/models lists the models`,
          'model',
          'model_not_found',
        );
      return c.json(found, 200);
    });
}
