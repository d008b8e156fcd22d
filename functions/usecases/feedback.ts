// Feedback from a user: a rating of a generation (checked to be one this app issued to this user) or of a text,
// with the user's own correction if any; idempotent by key.
import { insertFeedback } from '../../core/db/feedback.js';
import { getGeneration } from '../../core/db/generations.js';
import type { FeedbackRequest } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { Services } from '../http/services.js';
import { notFound, UseCaseError } from './errors.js';

/** The feedback's id; `created` false: the same idempotency key and body were seen before (the first id). */
export async function recordFeedback(
  s: Services,
  app: App,
  user: string,
  req: FeedbackRequest,
): Promise<{ id: string; created: boolean }> {
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
    throw new UseCaseError(
      'idempotency_conflict',
      'this idempotency key was already used with a different body: send a new key for new feedback',
    );
  }
  if (created) await s.seen(app.id, user);
  return { id: feedback.id, created };
}
