// POST /v1/feedback: a rating of a generation, or of text the user wrote or read; idempotent by key.
import { createRoute } from '@hono/zod-openapi';
import { insertFeedback } from '../../core/db/feedback.js';
import { getGeneration } from '../../core/db/generations.js';
import { feedbackRequest, feedbackResponse } from '../../schema/contracts.js';
import { ApiError, notFound } from '../http/errors.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import { actingUser, callerApp, type Services, takeRateLimits } from '../http/services.js';

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
    const app = callerApp(c);
    const req = c.req.valid('json');
    const user = actingUser(c, req.user);
    await takeRateLimits(s, app, user);
    let prompt = req.prompt ?? null;
    let text = req.text ?? null;
    if (req.generation_id !== undefined) {
      // Only ids this app issued to this user pass; a generation erased since keeps its id valid, and the
      // rating is recorded without its text (nothing left to train on, but nothing accepted is lost). An id
      // of the previous scheme passes only for a generation that exists: its tag is forgeable by anyone
      // holding the app's original signing secret.
      const check = await s.generationIds.check(app, req.generation_id, user);
      const gen = check
        ? await getGeneration(s.db, { appId: app.id, id: req.generation_id, userId: user })
        : null;
      if (check === null || (check === 'legacy' && !gen)) {
        throw notFound(`no generation ${req.generation_id} for user ${user}`);
      }
      prompt ??= gen?.prompt ?? null;
      text ??= gen?.text ?? '';
    }
    const { feedback, created } = await insertFeedback(s.db, {
      appId: app.id,
      userId: user,
      generationId: req.generation_id ?? null,
      prompt,
      text: text ?? '',
      rating: req.rating,
      editedText: req.edited_text ?? null,
      idempotencyKey: req.idempotency_key ?? null,
    });
    // A retry sends the same body; a different one under a used key is a mistake, not a retry (Stripe's rule).
    if (
      !created &&
      (feedback.rating !== req.rating ||
        feedback.editedText !== (req.edited_text ?? null) ||
        feedback.generationId !== (req.generation_id ?? null) ||
        (req.text !== undefined && feedback.text !== req.text) ||
        (req.prompt !== undefined && feedback.prompt !== req.prompt))
    ) {
      throw new ApiError(
        409,
        'idempotency_conflict',
        'this idempotency key was already used with a different body: send a new key for new feedback',
      );
    }
    if (created) {
      await s.seen(app.id, user);
      return c.json({ id: feedback.id }, 201);
    }
    return c.json({ id: feedback.id }, 200);
  });
}
