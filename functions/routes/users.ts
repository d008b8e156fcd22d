// A user's adapter (with a download link, to run it on the device), their export and training switch, and
// erasure of everything about a user. The routes translate; the work is the use cases' (usecases/users.ts,
// export.ts, erase.ts).
import { createRoute } from '@hono/zod-openapi';
import {
  userAdapterResponse,
  userExportResponse,
  userParams,
  userTrainingRequest,
  userTrainingResponse,
} from '../../schema/contracts.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { actingUser, callerApp } from '../usecases/caller.js';
import { eraseUser } from '../usecases/erase.js';
import { exportUser } from '../usecases/export.js';
import { takeRateLimits } from '../usecases/rate-limits.js';
import { setUserTraining, userAdapter } from '../usecases/users.js';

export const userAdapterRoute = createRoute({
  method: 'get',
  path: '/v1/users/{user}/adapter',
  tags: ['users'],
  summary: "The user's active adapter",
  description:
    'Its version, metrics and a download link of its weights (valid for an hour), to run it on the device.',
  security: appSecurity,
  request: { params: userParams },
  responses: {
    200: json(userAdapterResponse, 'The active version'),
    ...errors(401, 403, 404, 422, 429, 503),
  },
});

export const eraseUserRoute = createRoute({
  method: 'delete',
  path: '/v1/users/{user}',
  tags: ['users'],
  summary: 'Erase a user',
  description:
    "Deletes the user's generations, feedback, adapter versions and their files. Idempotent: erasing a user " +
    'the app does not know answers 204 too.',
  security: appSecurity,
  request: { params: userParams },
  responses: { 204: { description: 'Erased' }, ...errors(401, 403, 422, 429) },
});

export const exportUserRoute = createRoute({
  method: 'get',
  path: '/v1/users/{user}/export',
  tags: ['users'],
  summary: 'Export everything stored about a user',
  description:
    'Their profile, feedback, generations and adapter versions (with metrics), as one JSON document: what a ' +
    'user asking for their data is owed. Streamed page by page, so its size has no bound.',
  security: appSecurity,
  request: { params: userParams },
  responses: { 200: json(userExportResponse, 'The export'), ...errors(401, 403, 422, 429) },
});

export const userTrainingRoute = createRoute({
  method: 'put',
  path: '/v1/users/{user}/training',
  tags: ['users'],
  summary: 'Opt a user out of training, or back in',
  description:
    '`enabled: false`: their feedback is kept, no adapter is trained for them (not even in runs an operator ' +
    'starts), their feedback is not recalled as memory, and their active version is retired, so they are ' +
    'served the base model. `enabled: true` undoes it; ' +
    'the next cycle trains them again.',
  security: appSecurity,
  request: { params: userParams, body: body(userTrainingRequest) },
  responses: { 200: json(userTrainingResponse, 'The user’s training state'), ...errors(...APP_ERRORS) },
});

export function userRoutes(s: Services) {
  return routes()
    .openapi(userAdapterRoute, async (c) => {
      const caller = c.get('caller');
      const app = callerApp(caller);
      const user = actingUser(caller, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      // The configured public origin; without one the request's (which a Host header can name).
      const origin = s.config.publicUrl ?? new URL(c.req.url).origin;
      return c.json(await userAdapter(s, app, user, origin), 200);
    })
    .openapi(exportUserRoute, async (c) => {
      const caller = c.get('caller');
      const app = callerApp(caller);
      const user = actingUser(caller, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      const body = await exportUser(s, app, user);
      return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8' }) as never;
    })
    .openapi(userTrainingRoute, async (c) => {
      const caller = c.get('caller');
      const app = callerApp(caller);
      const user = actingUser(caller, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      const { enabled } = c.req.valid('json');
      return c.json(await setUserTraining(s, caller, app, user, enabled), 200);
    })
    .openapi(eraseUserRoute, async (c) => {
      const caller = c.get('caller');
      const app = callerApp(caller);
      const user = actingUser(caller, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      await eraseUser(s, caller, app.id, user);
      return c.body(null, 204);
    });
}
