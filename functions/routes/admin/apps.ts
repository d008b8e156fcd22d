// Admin: apps and their settings, and what each app's users did (users, feedback, generations); generation as
// any user with any adapter version, for comparing outputs.
import { createRoute } from '@hono/zod-openapi';
import { effectiveSettings, patchOverrides, readOverrides } from '../../../core/apps/settings.js';
import { listStyles } from '../../../core/db/adapters.js';
import { getAppSettings, putAppSettings } from '../../../core/db/app-settings.js';
import { type AppSummary, createApp, listAppSummaries } from '../../../core/db/apps.js';
import { getBaseModel } from '../../../core/db/base-models.js';
import { listFeedback } from '../../../core/db/feedback.js';
import { listGenerations } from '../../../core/db/generations.js';
import { getEndUser, listEndUsers, userActivity } from '../../../core/db/users.js';
import {
  adminGenerateRequest,
  adminScoreRequest,
  appItem,
  appParams,
  appSettingsPatch,
  appSettingsResponse,
  createAppRequest,
  createAppResponse,
  listAppsResponse,
  listFeedbackQuery,
  listFeedbackResponse,
  listGenerationsQuery,
  listGenerationsResponse,
  listStylesResponse,
  listUsersQuery,
  listUsersResponse,
  pageQuery,
  scoreResponse,
  userDetail,
  userDetailParams,
} from '../../../schema/contracts.js';
import { invalid, notFound } from '../../http/errors.js';
import { answerGeneration, GENERATION_ANSWER } from '../../http/generation-stream.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from '../../usecases/apps.js';
import { audit } from '../../usecases/audit.js';
import { eraseUser } from '../../usecases/erase.js';
import { startGeneration } from '../../usecases/generate.js';
import { score } from '../../usecases/score.js';
import { iso, page, views } from '../../usecases/views.js';

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
    'What the console compares outputs with: `adapter` `{ version }`, `none` or `auto`. Streams as ' +
    '`POST /v1/generate` does with `stream: true`. Not rate limited; stored like any generation.',
  request: { params: appParams, body: body(adminGenerateRequest) },
  responses: {
    200: GENERATION_ANSWER,
    ...errors(...ADMIN_ERRORS, 404, 409, 503),
  },
});
const adminScoreRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/score',
  tags,
  security,
  summary: 'Score texts as any user with any adapter version',
  description: 'As `POST /v1/score`: how well each candidate fits the user under the adapter chosen.',
  request: { params: appParams, body: body(adminScoreRequest) },
  responses: { 200: json(scoreResponse, 'One result per text'), ...errors(...ADMIN_ERRORS, 404, 409, 503) },
});
const userDetailRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/users/{user}',
  tags,
  security,
  summary: 'One user: what they sent, generated and have',
  request: { params: userDetailParams },
  responses: { 200: json(userDetail, 'The user'), ...errors(401, 403, 404, 422) },
});
const eraseUserRoute = createRoute({
  method: 'delete',
  path: '/admin/apps/{app}/users/{user}',
  tags,
  security,
  summary: 'Erase a user',
  description:
    'As `DELETE /v1/users/{user}`, by an operator: everything about the user goes; the audit log says so.',
  request: { params: userDetailParams },
  responses: { 204: { description: 'Erased' }, ...errors(401, 403, 404, 422) },
});
const listStylesRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/styles',
  tags,
  security,
  summary: "An app's styles",
  description: 'Each with its active version and how many versions it has, most recently trained first.',
  request: { params: appParams },
  responses: { 200: json(listStylesResponse, 'The styles'), ...errors(401, 403, 404, 422) },
});

const summaryView = (a: AppSummary) => ({
  ...views.app(a.app),
  users: a.users,
  generations_7d: a.generations7d,
  feedback_7d: a.feedback7d,
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
      await audit(s, c.get('caller'), 'app.created', { appId: created.app.id, details: { name } });
      return c.json(
        { app_id: created.app.id, api_key: created.apiKey, signing_secret: created.signingSecret, name },
        201,
      );
    })
    .openapi(listAppsRoute, async (c) =>
      c.json(page(await listAppSummaries(s.db, c.req.valid('query')), summaryView), 200),
    )
    .openapi(getAppRoute, async (c) => c.json(views.app(await appOf(s, c.req.valid('param').app)), 200))
    .openapi(getSettingsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      return c.json(await settingsOf(app.id), 200);
    })
    .openapi(patchSettingsRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const current = readOverrides((await getAppSettings(s.db, app.id))?.settings);
      const patch = c.req.valid('json');
      const base = patch.model?.base;
      if (base && !(await getBaseModel(s.db, base)))
        throw invalid(`model.base: base model ${base} is not published (GET /admin/models lists them)`, [
          { path: 'model.base', message: 'not a published base model' },
        ]);
      await putAppSettings(s.db, app.id, patchOverrides(current, patch));
      s.settings.forget(app.id);
      await audit(s, c.get('caller'), 'settings.changed', {
        appId: app.id,
        details: { patch: JSON.stringify(patch) },
      });
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
      const req = c.req.valid('json');
      const options = { experiment: false, signal: c.req.raw.signal };
      return answerGeneration(c, await startGeneration(s, app, req, options), req.stream, s.onError);
    })
    .openapi(adminScoreRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const req = c.req.valid('json');
      return c.json(await score(s, app, req.user, req), 200);
    })
    .openapi(userDetailRoute, async (c) => {
      const { app: appId, user } = c.req.valid('param');
      const app = await appOf(s, appId);
      const [row, act] = await Promise.all([
        getEndUser(s.db, app.id, user),
        userActivity(s.db, app.id, user),
      ]);
      if (!row && act.generations + act.versions + act.likes + act.dislikes + act.edits === 0)
        throw notFound(`app ${app.id} has no user ${user}`);
      return c.json(
        {
          user,
          created_at: iso(row?.createdAt ?? null),
          last_seen: iso(row?.lastSeen ?? null),
          active_version: act.activeVersion,
          training_opted_out_at: iso(row?.trainingOptOutAt ?? null),
          feedback: { likes: act.likes, dislikes: act.dislikes, edits: act.edits },
          generations: act.generations,
          versions: act.versions,
        },
        200,
      );
    })
    .openapi(eraseUserRoute, async (c) => {
      const { app: appId, user } = c.req.valid('param');
      const app = await appOf(s, appId);
      await eraseUser(s, c.get('caller'), app.id, user);
      return c.body(null, 204);
    })
    .openapi(listStylesRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const items = (await listStyles(s.db, app.id)).map((x) => ({
        style: x.styleId,
        active_version: x.activeVersion,
        versions: x.versions,
        updated_at: x.updatedAt.toISOString(),
      }));
      return c.json({ items }, 200);
    });
}
