// The training recipe in one place: LoRA shape, optimiser settings, dataset cuts, the eval gate and how many
// owners share one trainer process. Tuning changes the defaults here; a job may carry overrides (validated by
// `recipeOverrides`, core/training/recipe-overrides.ts) that apply on top, e.g. tiny step budgets in tests.
import {
  ALL_TARGETS,
  type PeftMethod,
  type RecipeOverrides,
  type TrainSettings,
} from '../schema/training.js';
import { type DatasetOptions, defaultDatasetOptions } from './dataset.js';

export interface Recipe {
  /** What each owner trains: LoRA pairs, or a prefix of keys and values (`prefix.tokens` virtual tokens). */
  method: PeftMethod;
  lora: { r: number; alpha: number; targets: string[] };
  /** A prefix's virtual tokens, and its learning rate (in place of `train.lr`, which is LoRA's). */
  prefix: { tokens: number; lr: number };
  train: Required<TrainSettings>;
  dataset: DatasetOptions;
  gate: {
    /** A new version must beat the baseline's held-out loss by more than this (nats per token). */
    minDelta: number;
  };
  /** Owners trained together in one trainer process (one batch); more are split over several jobs. */
  usersPerJob: number;
  /**
   * Windows of the base model's own training text added to each owner's training examples (the package's
   * replay.bin): it keeps a personal adapter from trading general English for the user's story.
   */
  replay: { examples: number };
  /**
   * Further windows of the same text, disjoint from the replay ones, that training never sees: the trainer keeps
   * a step only if the adapter's loss on them is within `train.general_tolerance` of the base model's.
   */
  guard: { examples: number };
}

/**
 * Per-user adapters from feedback. Measured on the shipped base model (experiments/personalize.py, six
 * held-out stories): lr 3e-4 beat 1e-3 (fewer regressions, early stopping at 20–60 steps); mixing 16 windows of
 * general text kept held-out non-fiction within +0.6% (+1.3% without, +0.3% with 32, which also halved the
 * story gain); rank 4, attention-only or MLP-only targets did worse. With the split made deterministic (by content),
 * test/personalization.test.ts's four readers: 16 windows gave non-fiction +0.47…+1.02% (own −1.46…−2.68%), 24
 * windows +0.32…+0.70% (own −1.10…−1.96%, specificity +1.33…+2.13 pts): 24 keeps every reader under 1%.
 * Dislikes (unlikelihood term, weight 1, on three passages of other readers' stories each): own −0.94…−1.90%
 * (worse for all four), specificity +1.30…+2.32 pts (mixed), non-fiction +0.34…+0.91% (worse): off (0).
 * The guard (32 more windows, never trained on; a step kept only within 0.5% of the base model on them): on ten
 * readers (demo --readers 10 --every-story) held-out non-fiction +0.18…+0.84% → +0.08…+0.55%, own Δ of the
 * readers it held back −2.53…−1.68% → −2.13…−0.92%, the others unchanged or a little better.
 */
export const userRecipe: Recipe = {
  method: 'lora',
  lora: { r: 8, alpha: 16, targets: [...ALL_TARGETS] },
  prefix: { tokens: 16, lr: 3e-2 },
  train: {
    steps: 60,
    lr: 3e-4,
    batch_size: 8,
    eval_every: 5,
    patience: 3,
    max_len: 128,
    weight_decay: 0,
    grad_clip: 1,
    seed: 0,
    unlikelihood: 0,
    general_tolerance: 0.005,
  },
  dataset: { ...defaultDatasetOptions },
  gate: { minDelta: 1e-4 },
  usersPerJob: 64,
  replay: { examples: 24 },
  guard: { examples: 32 },
};

/** App-level style adapters from a text collection (hundreds of passages: more steps than a user's). */
export const styleRecipe: Recipe = {
  ...userRecipe,
  train: { ...userRecipe.train, steps: 300, lr: 1e-3, eval_every: 20, patience: 3 },
  dataset: { ...defaultDatasetOptions, heldoutPercent: 10 },
  replay: { examples: 0 }, // a style is meant to move the whole distribution
  guard: { examples: 0 },
};

export function withOverrides(base: Recipe, o: RecipeOverrides = {}): Recipe {
  return {
    method: o.method ?? base.method,
    lora: { ...base.lora, ...o.lora },
    prefix: { ...base.prefix, ...o.prefix },
    train: { ...base.train, ...o.train },
    dataset: { ...base.dataset, ...o.dataset },
    gate: { ...base.gate, ...o.gate },
    usersPerJob: o.usersPerJob ?? base.usersPerJob,
    replay: o.replay ?? base.replay,
    guard: o.guard ?? base.guard,
  };
}
