// POST /v1/feedback: a rating of a generation, or of text the user wrote or read; idempotent by key (the use
// case: usecases/feedback.ts).
import { createRoute } from '@hono/zod-openapi';
import { feedbackRequest, feedbackResponse } from '../../schema/contracts.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { actingUser, callerApp } from '../usecases/caller.js';
import { recordFeedback } from '../usecases/feedback.js';
import { takeRateLimits } from '../usecases/rate-limits.js';

export const feedbackRoute = createRoute({
  method: 'post',
  path: '/v1/feedback',
  tags: ['feedback'],
  summary: 'Rate a generation or a text',
  description:
    'Points at a generation (`generation_id`) or carries the text itself (`text`: what the user wrote, liked or ' +
    'disliked). `edited_text` is the user’s own correction and trains as a strong positive. With an ' +
    '`idempotency_key` the same feedback sent again answers 200 with the first id and stores nothing new.',
  security: appSecurity,
  request: { body: body(feedbackRequest) },
  responses: {
    201: json(feedbackResponse, 'Recorded'),
    200: json(feedbackResponse, 'Seen before (same idempotency key): the id of the first'),
    ...errors(...APP_ERRORS, 404, 409),
  },
});

export function feedbackRoutes(s: Services) {
  return routes().openapi(feedbackRoute, async (c) => {
    const caller = c.get('caller');
    const app = callerApp(caller);
    const req = c.req.valid('json');
    const user = actingUser(caller, req.user);
    await takeRateLimits(s, app, user);
    const { id, created } = await recordFeedback(s, app, user, req);
    return created ? c.json({ id }, 201) : c.json({ id }, 200);
  });
}
