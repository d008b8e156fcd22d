// Admin: apps and their settings, and what each app's users did (users, feedback, generations); generation as
// any user with any adapter version, for comparing outputs.
import { createRoute } from '@hono/zod-openapi';
import { effectiveSettings, patchOverrides, readOverrides } from '../../../core/apps/settings.js';
import { getAppSettings, putAppSettings } from '../../../core/db/app-settings.js';
import { createApp, getApp, listApps } from '../../../core/db/apps.js';
import { listFeedback } from '../../../core/db/feedback.js';
import { listGenerations } from '../../../core/db/generations.js';
import { listEndUsers } from '../../../core/db/users.js';
import {
  adminGenerateRequest,
  appItem,
  appParams,
  appSettingsPatch,
  appSettingsResponse,
  createAppRequest,
  createAppResponse,
  generateResponse,
  listAppsResponse,
  listFeedbackQuery,
  listFeedbackResponse,
  listGenerationsQuery,
  listGenerationsResponse,
  listUsersQuery,
  listUsersResponse,
  pageQuery,
} from '../../../schema/contracts.js';
import type { App } from '../../../schema/tables.js';
import { notFound } from '../../http/errors.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { generate } from '../generate.js';
import { page, views } from './views.js';

export async function appOf(s: Services, id: string): Promise<App> {
  const app = await getApp(s.db, id);
  if (!app) throw notFound(`no app ${id}`);
  return app;
}

const tags = ['apps'];
const security = adminSecurity;

const createAppRoute = createRoute({
  method: 'post',
  path: '/admin/apps',
  tags,
  security,
  summary: 'Create an app',
  description:
    'Its API key and signing secret are shown in this answer only; Tailor keeps a hash of the key.',
  request: { body: body(createAppRequest) },
  responses: { 201: json(createAppResponse, 'Created'), ...errors(...ADMIN_ERRORS) },
});
const listAppsRoute = createRoute({
  method: 'get',
  path: '/admin/apps',
  tags,
  security,
  summary: 'List apps, newest first',
  request: { query: pageQuery },
  responses: { 200: json(listAppsResponse, 'A page of apps'), ...errors(401, 403, 422) },
});
const getAppRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}',
  tags,
  security,
  summary: 'One app',
  request: { params: appParams },
  responses: { 200: json(appItem, 'The app'), ...errors(401, 403, 404, 422) },
});
const getSettingsRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/settings',
  tags,
  security,
  summary: "An app's settings",
  description: "The settings in force, what the app set itself, and the platform's defaults under them.",
  request: { params: appParams },
  responses: { 200: json(appSettingsResponse, 'The settings'), ...errors(401, 403, 404, 422) },
});
const patchSettingsRoute = createRoute({
  method: 'patch',
  path: '/admin/apps/{app}/settings',
  tags,
  security,
  summary: "Change an app's settings",
  description:
    'A JSON merge patch: each field given replaces the current value, `null` resets a field (or a whole ' +
    'section) to the platform default. Applies in this process at once, everywhere within 5 s.',
  request: { params: appParams, body: body(appSettingsPatch) },
  responses: {
    200: json(appSettingsResponse, 'The settings after the change'),
    ...errors(...ADMIN_ERRORS, 404),
  },
});
const listUsersRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/users',
  tags,
  security,
  summary: "An app's users, newest first",
  request: { params: appParams, query: listUsersQuery },
  responses: { 200: json(listUsersResponse, 'A page of users'), ...errors(401, 403, 404, 422) },
});
const listFeedbackRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/feedback',
  tags,
  security,
  summary: "An app's feedback (of one user), newest first",
  request: { params: appParams, query: listFeedbackQuery },
  responses: { 200: json(listFeedbackResponse, 'A page of feedback'), ...errors(401, 403, 404, 422) },
});
const listGenerationsRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/generations',
  tags,
  security,
  summary: "An app's generations (of one user), newest first",
  request: { params: appParams, query: listGenerationsQuery },
  responses: { 200: json(listGenerationsResponse, 'A page of generations'), ...errors(401, 403, 404, 422) },
});
const adminGenerateRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/generate',
  tags,
  security,
  summary: 'Generate as any user with any adapter version',
  description:
    'What the console compares outputs with: `adapter` `{ version }`, `none` or `auto`. Never streamed.',
  request: { params: appParams, body: body(adminGenerateRequest) },
  responses: { 200: json(generateResponse, 'The generation'), ...errors(...ADMIN_ERRORS, 404, 409) },
});

export function adminAppRoutes(s: Services) {
  const settingsOf = async (appId: string) => {
    const stored = await getAppSettings(s.db, appId);
    const overrides = readOverrides(stored?.settings);
    return {
      app_id: appId,
      settings: effectiveSettings(s.settings.defaults, overrides),
      overrides,
      defaults: s.settings.defaults,
      updated_at: stored ? stored.updatedAt.toISOString() : null,
    };
  };
  return routes()
    .openapi(createAppRoute, async (c) => {
      const { name } = c.req.valid('json');
      const created = await createApp(s.db, { name });
      s.callers.forgetApps();
      return c.json(
        { app_id: created.app.id, api_key: created.apiKey, signing_secret: created.signingSecret, name },
        201,
      );
    })
    .openapi(listAppsRoute, async (c) =>
      c.json(page(await listApps(s.db, c.req.valid('query')), views.app), 200),
    )
    .openapi(getAppRoute, async (c) => c.json(views.app(await appOf(s, c.req.valid('param').app)), 200))
    .openapi(getSettingsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return c.json(await settingsOf(app.id), 200);
    })
    .openapi(patchSettingsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const current = readOverrides((await getAppSettings(s.db, app.id))?.settings);
      await putAppSettings(s.db, app.id, patchOverrides(current, c.req.valid('json')));
      s.settings.forget(app.id);
      return c.json(await settingsOf(app.id), 200);
    })
    .openapi(listUsersRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return c.json(page(await listEndUsers(s.db, app.id, c.req.valid('query')), views.user), 200);
    })
    .openapi(listFeedbackRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const q = c.req.valid('query');
      const where = { appId: app.id, ...(q.user ? { userId: q.user } : {}) };
      return c.json(page(await listFeedback(s.db, where, q), views.feedback), 200);
    })
    .openapi(listGenerationsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const q = c.req.valid('query');
      const where = { appId: app.id, ...(q.user ? { userId: q.user } : {}) };
      return c.json(page(await listGenerations(s.db, where, q), views.generation), 200);
    })
    .openapi(adminGenerateRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return generate(s, c, app, { ...c.req.valid('json'), stream: false });
    });
}
