// POST /v1/generate: text for a user, with their adapter (and styles) applied; JSON or Server-Sent Events. The
// route translates: the generation itself is the use case's (usecases/generate.ts).
import { createRoute } from '@hono/zod-openapi';
import { generateRequest } from '../../schema/contracts.js';
import { answerGeneration, GENERATION_ANSWER } from '../http/generation-stream.js';
import { APP_ERRORS, appSecurity, body, errors, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { actingUser, callerApp } from '../usecases/caller.js';
import { startGeneration } from '../usecases/generate.js';
import { generationUnits, takeRateLimits } from '../usecases/rate-limits.js';

export const generateRoute = createRoute({
  method: 'post',
  path: '/v1/generate',
  tags: ['generate'],
  summary: 'Generate text for a user',
  description:
    "Applies the user's active adapter (or the version named, or none) and any app styles. With `stream: true` " +
    'the answer is Server-Sent Events: `token` events `{ text }`, then one `done` with the same object as the ' +
    'JSON answer (or `error`). Stop strings are never streamed, not even in part.',
  security: appSecurity,
  request: { body: body(generateRequest) },
  responses: {
    200: GENERATION_ANSWER,
    ...errors(...APP_ERRORS, 404, 409, 503),
  },
});

export function generateRoutes(s: Services) {
  return routes().openapi(generateRoute, async (c) => {
    const caller = c.get('caller');
    const app = callerApp(caller);
    const req = c.req.valid('json');
    const user = actingUser(caller, req.user);
    await takeRateLimits(s, app, user, generationUnits(1, req.max_tokens));
    const timing = c.get('timing');
    const started = await startGeneration(s, app, { ...req, user }, { signal: c.req.raw.signal, timing });
    return answerGeneration(c, started, req.stream, s.onError, timing);
  });
}
