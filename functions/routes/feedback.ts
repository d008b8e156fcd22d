// POST /v1/feedback: a rating of a generation, or of text the user wrote or read; idempotent by key.
import { Hono } from 'hono';
import { insertFeedback } from '../../core/db/feedback.js';
import { getGeneration } from '../../core/db/generations.js';
import { feedbackRequest } from '../../schema/contracts.js';
import { ApiError, notFound } from '../http/errors.js';
import { isGenerationIdOf } from '../http/generation-id.js';
import { actingUser, callerApp, type HonoEnv, type Services, takeRateLimits } from '../http/services.js';
import { parseWith, readJson } from '../http/validate.js';
import { bodyField, withUser } from './generate.js';

export function feedbackRoutes(s: Services) {
  return new Hono<HonoEnv>().post('/v1/feedback', async (c) => {
    const app = callerApp(c);
    const raw = await readJson(c);
    const req = parseWith(feedbackRequest, withUser(raw, actingUser(c, bodyField(raw, 'user'))));
    takeRateLimits(s, app.id, req.user);
    let prompt = req.prompt ?? null;
    let text = req.text ?? null;
    if (req.generation_id !== undefined) {
      // Only ids this app issued to this user pass; a generation erased since keeps its id valid, and the
      // rating is recorded without its text (nothing left to train on, but nothing accepted is lost).
      if (!(await isGenerationIdOf(app.signingSecret, req.generation_id, req.user))) {
        throw notFound(`no generation ${req.generation_id} for user ${req.user}`);
      }
      const gen = await getGeneration(s.db, { appId: app.id, id: req.generation_id, userId: req.user });
      prompt ??= gen?.prompt ?? null;
      text ??= gen?.text ?? '';
    }
    const { feedback, created } = await insertFeedback(s.db, {
      appId: app.id,
      userId: req.user,
      generationId: req.generation_id ?? null,
      prompt,
      text: text ?? '',
      rating: req.rating,
      editedText: req.edited_text ?? null,
      idempotencyKey: req.idempotency_key ?? null,
    });
    if (!created && feedback.userId !== req.user) {
      throw new ApiError(409, 'conflict', 'this idempotency key was already used for another user');
    }
    if (created) await s.seen(app.id, req.user);
    return c.json({ id: feedback.id }, created ? 201 : 200);
  });
}
