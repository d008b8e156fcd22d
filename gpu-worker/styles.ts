// Style adapters: one small app-level adapter per style, trained on a collection of texts (given in the
// request, or a Brown corpus genre's training-split files) cut into passages of at most `maxTokens` tokens.
// Each passage is one example; the preceding `contextTokens` of its text are its prompt. Passages land in
// training or held-out by a hash of their position, as feedback items do.
import type { BaseModelConfig } from '../core/model/config.js';
import { readBrown } from '../core/node/brown.js';
import { PermanentJobError } from '../core/training/jobs.js';
import type { TrainingExample } from '../core/training/trainer-contract.js';
import type { JobPayload, OwnerOutcome } from '../schema/training.js';
import { bucketOf, type Encoder, type UserDataset } from './dataset.js';
import { type Recipe, styleRecipe, withOverrides } from './recipe.js';
import { type JobContext, trainAndPublish } from './train.js';

/** Most passages one style trains on (a genre has a few hundred). */
export const MAX_STYLE_PASSAGES = 5_000;

/**
 * The texts of a Brown genre's files that the base model trained on, as its config.json records them (never a
 * held-out file: those are the base model's evaluation and the demo's readers).
 */
export function brownGenreTexts(genre: string, config: BaseModelConfig): string[] {
  const split = config.tailor.splits;
  if (!split)
    throw new PermanentJobError('this base model records no Brown split: train the style from texts');
  const docs = readBrown();
  const train = new Set(split.train);
  const texts = docs.filter((d) => d.genre === genre && train.has(d.file)).map((d) => d.text);
  if (texts.length === 0) {
    const genres = [...new Set(docs.map((d) => d.genre))].sort().join(', ');
    throw new PermanentJobError(`no Brown genre "${genre}" (genres: ${genres})`);
  }
  return texts;
}

export function styleDataset(texts: string[], encoder: Encoder, o: Recipe['dataset']): UserDataset {
  const passages: { id: string; example: TrainingExample }[] = [];
  for (const [t, text] of texts.entries()) {
    const ids = encoder.encode(text);
    for (let at = 0, k = 0; at < ids.length && passages.length < MAX_STYLE_PASSAGES; at += o.maxTokens, k++) {
      passages.push({
        id: `${t}:${k}`,
        example: {
          prompt: ids.slice(Math.max(0, at - o.contextTokens), at),
          completion: ids.slice(at, at + o.maxTokens),
          weight: 1,
        },
      });
    }
  }
  const hold = passages.length >= 5;
  const train: TrainingExample[] = [];
  const heldout: TrainingExample[] = [];
  for (const p of passages) (hold && bucketOf(p.id) < o.heldoutPercent ? heldout : train).push(p.example);
  if (train.length === 0 && heldout.length > 0) train.push(...heldout.splice(0));
  return {
    train,
    heldout,
    counts: { likes: 0, edits: 0, dislikes: 0, examples: train.length + heldout.length },
  };
}

export async function trainStyle(ctx: JobContext, payload: JobPayload<'train-style'>): Promise<OwnerOutcome> {
  const recipe = withOverrides(withOverrides(styleRecipe, payload.recipe), ctx.recipe);
  const model = await ctx.baseModels.get(payload.baseModel);
  const texts =
    'texts' in payload.source ? payload.source.texts : brownGenreTexts(payload.source.genre, model.config);
  const dataset = styleDataset(texts, model.tokenizer, recipe.dataset);
  if (dataset.train.length === 0) throw new PermanentJobError('the style has no text to train on');
  ctx.log(
    `style ${payload.styleId}: ${texts.length} text(s), ${dataset.train.length} training and ${dataset.heldout.length} held-out passages`,
  );
  const { outcomes, failed } = await trainAndPublish(ctx, model, recipe, [
    {
      owner: { appId: payload.appId, styleId: payload.styleId },
      dataset,
      metrics: {
        source: 'genre' in payload.source ? { genre: payload.source.genre } : { texts: texts.length },
      },
    },
  ]);
  // One owner: its failure is the job's.
  if (failed[0]) throw new Error(failed[0].reason);
  const [outcome] = outcomes;
  if (!outcome) throw new Error('style training returned no outcome');
  return outcome;
}
