// The shapes of training work, shared by the API (which enqueues jobs and shows them), the worker (which runs
// them) and the console: job payloads by kind, the recipe overrides a job may carry, job progress and results,
// and the metrics recorded on an adapter version. The trainer's own JSON contract builds on `trainSettings`.
import { z } from 'zod';

/** Style ids become storage key segments: the user-id alphabet, at most 64 characters. */
/** As user ids (1-64 characters), not `.` or `..`. */
export const STYLE_ID_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9_.:@-]{1,64}$/;
export const styleId = z
  .string()
  .regex(STYLE_ID_PATTERN, 'style ids are 1-64 characters of [A-Za-z0-9_.:@-], not . or ..');

export const ALL_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

/** How an adapter personalizes: LoRA pairs on the projections, or learned keys and values in front of the cache. */
export const PEFT_METHODS = ['lora', 'prefix'] as const;
export type PeftMethod = (typeof PEFT_METHODS)[number];
/** A prefix's virtual tokens take positions of the 256-token window: at most an eighth of it (the engine's limit). */
export const MAX_PREFIX_TOKENS = 32;

/** The trainer's optimisation settings (all optional: the trainer has defaults). */
export const trainSettings = z
  .object({
    steps: z.number().int().min(1).max(100_000),
    lr: z.number().positive(),
    batch_size: z.number().int().min(1),
    eval_every: z.number().int().min(1),
    patience: z.number().int().min(1),
    max_len: z.number().int().min(8).max(256),
    weight_decay: z.number().min(0),
    grad_clip: z.number().positive(),
    seed: z.number().int(),
    /** Weight of the unlikelihood term on the user's dislikes (0: dislikes are not trained on). */
    unlikelihood: z.number().min(0).max(10),
    /**
     * The general-text guard: a step's adapter is kept only if its loss on the owner's guard windows stays
     * within this fraction of the base model's (0.005: half a percent). Applies to owners the job gives windows.
     */
    general_tolerance: z.number().min(0).lt(1),
  })
  .partial();
export type TrainSettings = z.infer<typeof trainSettings>;

/** Partial recipe settings a job (or a scheduler) may carry; applied over the worker's defaults. */
export const recipeOverrides = z
  .object({
    method: z.enum(PEFT_METHODS),
    prefix: z
      .object({ tokens: z.number().int().min(1).max(MAX_PREFIX_TOKENS), lr: z.number().positive() })
      .partial(),
    lora: z
      .object({
        r: z.number().int().min(1).max(64),
        alpha: z.number().positive(),
        targets: z.array(z.enum(ALL_TARGETS)).min(1),
      })
      .partial(),
    train: trainSettings,
    dataset: z
      .object({
        maxTokens: z.number().int().min(8).max(256),
        heldoutPercent: z.number().min(0).max(90),
        contextTokens: z.number().int().min(0).max(128),
        editWeight: z.number().positive(),
      })
      .partial(),
    gate: z.object({ minDelta: z.number().min(0) }).partial(),
    usersPerJob: z.number().int().min(1).max(1024),
    replay: z.object({ examples: z.number().int().min(0).max(512) }),
    guard: z.object({ examples: z.number().int().min(0).max(512) }),
  })
  .partial();
export type RecipeOverrides = z.infer<typeof recipeOverrides>;

/** A base model's id: what requests name (`model`), and its storage folder (`models/<id>/`). */
export const baseModelName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    'lowercase letters, digits, ".", "_" and "-"; at most 64; a letter or digit first',
  );

const owner = z.object({ appId: z.string().min(1), userId: z.string().min(1) });

/** Each job kind's payload. */
export const jobPayloads = {
  /** Retrain these users' adapters on one base model, together: one trainer process, one batch. */
  'train-users': z.object({
    baseModel: z.string().min(1),
    users: z.array(owner).min(1).max(1024),
    recipe: recipeOverrides.optional(),
  }),
  /** Train an app-level style adapter from texts given here or a Brown genre's training passages. */
  'train-style': z.object({
    baseModel: z.string().min(1),
    appId: z.string().min(1),
    styleId,
    source: z.union([
      z.strictObject({ texts: z.array(z.string().min(1)).min(1).max(10_000) }),
      z.strictObject({ genre: z.string().min(1).max(64) }),
    ]),
    recipe: recipeOverrides.optional(),
  }),
  /**
   * Import a Hugging Face checkpoint as base model `name`: a directory under the operator's import roots
   * (`path`) or the objects under a storage prefix in `imports/` (`prefix`: the CLI's uploads, or a bucket's).
   */
  'import-model': z.object({
    name: baseModelName,
    source: z.union([
      z.strictObject({ path: z.string().min(1).max(4096) }),
      z.strictObject({ prefix: z.string().regex(/^imports\/[A-Za-z0-9._-]+\/$/) }),
    ]),
    /** The most positions the platform serves (the base's own maximum when smaller). */
    servedContext: z.int().min(16).max(131_072),
    /** The served graph's weights: fp32 as imported, or int8 (MatMulInteger; the trainer keeps fp32). */
    quantize: z.enum(['none', 'int8']).default('none'),
  }),
} as const;
export type JobKind = keyof typeof jobPayloads;
export type JobPayload<K extends JobKind> = z.infer<(typeof jobPayloads)[K]>;

/** Where a running job is: `preparing`, `train` (steps), `publishing` (owners), `done`. Empty while queued. */
export const jobProgress = z
  .object({
    stage: z.string(),
    done: z.number(),
    total: z.number(),
    eta_s: z.number(),
    /** Mean training loss of the step just run. */
    loss: z.number(),
    /** Owners still training (the others stopped early). */
    active: z.number(),
    /** [step, mean training loss] of every step so far: the live curve. */
    curve: z.array(z.tuple([z.number(), z.number()])),
  })
  .partial();
export type JobProgress = z.infer<typeof jobProgress>;

/** What a job did for one adapter owner: the version it published and the gate's verdict. */
export const ownerOutcome = z.object({
  app: z.string(),
  user: z.string().optional(),
  style: z.string().optional(),
  version: z.string(),
  status: z.enum(['active', 'rejected']),
  heldout_loss_after: z.number(),
  baseline_heldout_loss: z.number(),
  /** `active:<version>` or `base`: what the new version was compared with. */
  baseline: z.string(),
});
export type OwnerOutcome = z.infer<typeof ownerOutcome>;

export const trainUsersResult = z.object({
  users: z.array(ownerOutcome),
  skipped: z.array(z.object({ app: z.string(), user: z.string(), reason: z.string() })),
  /** Trained but not published (a storage error, say): each user's own failure; they are due again. */
  failed: z.array(z.object({ app: z.string(), user: z.string(), reason: z.string() })).default([]),
});
export type TrainUsersResult = z.infer<typeof trainUsersResult>;

/** What an import published: the base's id, its package and what the import measured (hf_import.py). */
export const importResult = z.object({
  model: z.string(),
  prefix: z.string(),
  hash: z.string(),
  report: z.record(z.string(), z.unknown()),
});
export type ImportResult = z.infer<typeof importResult>;

/** A finished job's result: train-users' outcomes, train-style's one outcome, or an import's package. */
export const jobResult = z.union([trainUsersResult, ownerOutcome, importResult]);

/** Metrics recorded on an adapter version (a trained one; an imported style records what it was). */
export const adapterMetrics = z
  .object({
    train_loss_before: z.number(),
    train_loss_after: z.number(),
    heldout_loss_before: z.number(),
    heldout_loss_after: z.number(),
    baseline_heldout_loss: z.number(),
    baseline: z.string(),
    /** The general-text guard: the base model's and this version's loss on windows of general text. */
    general_loss_before: z.number(),
    general_loss_after: z.number(),
    gate: z.object({ passed: z.boolean(), min_delta: z.number(), general_tolerance: z.number().optional() }),
    best_step: z.number(),
    steps_run: z.number(),
    train_examples: z.number(),
    heldout_examples: z.number(),
    seconds: z.number(),
    device: z.string(),
    /** `method` and `prefix_tokens` since prefix tuning (absent: LoRA); `r`/`alpha` describe a LoRA only. */
    recipe: z.object({
      method: z.enum(PEFT_METHODS).optional(),
      r: z.number(),
      alpha: z.number(),
      prefix_tokens: z.number().optional(),
      lr: z.number(),
      steps: z.number(),
    }),
    feedback: z.object({
      items: z.number(),
      likes: z.number(),
      edits: z.number(),
      dislikes: z.number(),
      examples: z.number(),
    }),
    replay_examples: z.number(),
    guard_examples: z.number(),
    source: z.union([z.object({ genre: z.string() }), z.object({ texts: z.number() })]),
    /** This version's training: [step, loss] of each step, and of each held-out evaluation. */
    curve: z.object({
      train: z.array(z.tuple([z.number(), z.number()])),
      heldout: z.array(z.tuple([z.number(), z.number()])),
      general: z.array(z.tuple([z.number(), z.number()])).optional(),
    }),
    /** Which feedback items it trained on and which it was judged on. */
    feedback_split: z.object({ train: z.array(z.string()), heldout: z.array(z.string()) }),
    imported: z.boolean(),
    r: z.number(),
    alpha: z.number(),
    modules: z.number(),
    bytes: z.number(),
  })
  .partial();
export type AdapterMetrics = z.infer<typeof adapterMetrics>;
