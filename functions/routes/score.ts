// POST /v1/score: the negative log-likelihood of texts (after a context) under the user's adapter: how well
// each candidate fits this reader. Apps rank candidates with it. The scoring is the use case's (usecases/score.ts).
import { createRoute } from '@hono/zod-openapi';
import { scoreRequest, scoreResponse } from '../../schema/contracts.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { actingUser, callerApp } from '../usecases/caller.js';
import { takeRateLimits } from '../usecases/rate-limits.js';
import { score } from '../usecases/score.js';

export const scoreRoute = createRoute({
  method: 'post',
  path: '/v1/score',
  tags: ['generate'],
  summary: "Score texts under the user's adapter",
  description:
    'The negative log-likelihood (nats) of each text after an optional context: lower fits the reader better. ' +
    'Apps rank candidate continuations with it.',
  security: appSecurity,
  request: { body: body(scoreRequest) },
  responses: {
    200: json(scoreResponse, 'One result per text, in order'),
    ...errors(...APP_ERRORS, 404, 409, 503),
  },
});

export function scoreRoutes(s: Services) {
  return routes().openapi(scoreRoute, async (c) => {
    const caller = c.get('caller');
    const app = callerApp(caller);
    const req = c.req.valid('json');
    const user = actingUser(caller, req.user);
    await takeRateLimits(s, app, user, req.texts.length); // one unit a text
    return c.json(await score(s, app, user, req), 200);
  });
}
