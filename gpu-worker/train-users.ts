// The `train-users` job: each user's feedback → a dataset (token ids, stable held-out split) → one trainer
// run for all of them → gate → publish. A retried attempt skips users this job already published.
import { usersPublishedByJob } from '../core/db/adapters.js';
import { erasureEpoch } from '../core/db/erasures.js';
import { feedbackForTraining } from '../core/db/feedback.js';
import type { JobPayload, TrainUsersResult } from '../schema/training.js';
import { buildUserDataset, type FeedbackItem, replayExamples } from './dataset.js';
import { userRecipe, withOverrides } from './recipe.js';
import { type JobContext, type OwnerData, ownerLabel, trainAndPublish } from './train.js';

export async function trainUsers(
  ctx: JobContext,
  payload: JobPayload<'train-users'>,
): Promise<TrainUsersResult> {
  const recipe = withOverrides(withOverrides(userRecipe, payload.recipe), ctx.recipe);
  const model = await ctx.baseModels.get(payload.baseModel);
  const earlier = await usersPublishedByJob(ctx.db, ctx.job.id);
  const published = new Set(earlier.map((a) => `${a.appId}\u0000${a.userId}`));
  const owners: OwnerData[] = [];
  const skipped: TrainUsersResult['skipped'] = [];
  for (const { appId, userId } of payload.users) {
    if (published.has(`${appId}\u0000${userId}`)) {
      skipped.push({ app: appId, user: userId, reason: 'published by an earlier attempt of this job' });
      continue;
    }
    // The epoch first, then the feedback: an erasure in between moves the epoch, and the publish refuses.
    const userHash = await ctx.userHash(appId, userId);
    const fence = { userHash, epoch: await erasureEpoch(ctx.db, appId, userHash) };
    const rows = await feedbackForTraining(ctx.db, { appId, userId });
    const items: FeedbackItem[] = rows.map((f) => ({
      id: f.id,
      prompt: f.prompt,
      text: f.text,
      rating: f.rating === 1 ? 1 : -1,
      editedText: f.editedText,
    }));
    const dataset = buildUserDataset(items, model.tokenizer, recipe.dataset);
    if (dataset.train.length === 0) {
      skipped.push({ app: appId, user: userId, reason: 'no usable feedback (likes or edits)' });
      continue;
    }
    // Keyed by the user id alone: the same user gets the same general windows in every app and every run.
    const replay = replayExamples(model.replay, userId, recipe.replay.examples);
    dataset.train.push(...replay);
    const general = replayExamples(model.replay, userId, recipe.guard.examples, replay.length);
    owners.push({
      owner: { appId, userId },
      dataset,
      dataUntil: rows.at(-1)?.createdAt ?? null,
      general,
      fence,
      metrics: {
        feedback: { items: rows.length, ...dataset.counts },
        replay_examples: replay.length,
        guard_examples: general.length,
        ...(dataset.split ? { feedback_split: dataset.split } : {}),
      },
    });
  }
  for (const s of skipped) ctx.log(`${s.app}/${s.user}: skipped, ${s.reason}`);
  const { outcomes, failed } =
    owners.length > 0 ? await trainAndPublish(ctx, model, recipe, owners) : { outcomes: [], failed: [] };
  // Those not published are tried again while the job has attempts left (a retry skips the ones published
  // now); on the last attempt the job ends with their failures recorded, and they are due again next cycle.
  if (failed.length > 0 && ctx.job.attempts < ctx.job.maxAttempts) {
    throw new Error(
      `${failed.length} of ${owners.length} user(s) not published (retrying): ${failed
        .map((f) => `${ownerLabel(f.owner)}: ${f.reason}`)
        .join('; ')}`,
    );
  }
  return {
    users: outcomes,
    skipped,
    failed: failed.map((f) => ({
      app: f.owner.appId,
      user: 'userId' in f.owner ? f.owner.userId : '',
      reason: f.reason,
    })),
  };
}
