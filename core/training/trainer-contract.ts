// The versioned JSON contract between the TS orchestrator and the Python trainer (`train-lora`).
// The trainer validates the same shape on its side (gpu-worker/trainer/tailor_trainer/train_lora.py).
import { z } from 'zod';
import { MAX_PREFIX_TOKENS, PEFT_METHODS, trainSettings } from '../../schema/training.js';

export const TRAINER_CONTRACT_VERSION = 1;

const tokenIds = z.array(z.number().int().min(0));

export const trainingExample = z.object({
  prompt: tokenIds,
  completion: tokenIds.min(1),
  weight: z.number().positive().finite(),
});
export type TrainingExample = z.infer<typeof trainingExample>;

export const trainerJob = z.object({
  version: z.literal(TRAINER_CONTRACT_VERSION),
  /** The base model package directory (absolute). */
  base_model: z.string().min(1),
  /** Its id, written as `base_model_name_or_path` in the adapters' PEFT config (a path means nothing elsewhere). */
  base_model_id: z.string().min(1).optional(),
  /** What each user trains: LoRA pairs (`lora`) or the keys and values of a prefix (`prefix`). Default lora. */
  method: z.enum(PEFT_METHODS).optional(),
  lora: z.object({
    r: z.number().int().min(1).max(64),
    alpha: z.number().positive(),
    targets: z.array(z.string()).optional(),
  }),
  prefix: z.object({ num_virtual_tokens: z.number().int().min(1).max(MAX_PREFIX_TOKENS) }).optional(),
  train: trainSettings,
  users: z
    .array(
      z.object({
        id: z.string().min(1),
        out_dir: z.string().min(1),
        train: z.array(trainingExample).min(1),
        heldout: z.array(trainingExample),
        /** Texts the user disliked: pushed away by the unlikelihood term when `train.unlikelihood` > 0. */
        dislikes: z.array(trainingExample).optional(),
        /** Windows of general text, never trained on: the guard (`train.general_tolerance`). */
        general: z.array(trainingExample).optional(),
        /** A PEFT adapter directory (the active version) to evaluate on the same held-out examples. */
        baseline_adapter: z.string().min(1).optional(),
      }),
    )
    .min(1),
});
export type TrainerJob = z.infer<typeof trainerJob>;

export const trainerUserResult = z.object({
  id: z.string(),
  out_dir: z.string(),
  best_step: z.number().int(),
  train_examples: z.number().int(),
  heldout_examples: z.number().int(),
  train_loss_before: z.number(),
  train_loss_after: z.number(),
  heldout_loss_before: z.number(),
  heldout_loss_after: z.number(),
  improved: z.boolean(),
  /** Held-out loss of `baseline_adapter`, when the job named one. */
  baseline_heldout_loss: z.number().optional(),
  /** The guard's windows: the base model's loss, and the kept adapter's (when the job gave windows). */
  general_loss_before: z.number().optional(),
  general_loss_after: z.number().optional(),
});
export type TrainerUserResult = z.infer<typeof trainerUserResult>;

export const trainerResult = z.object({
  event: z.literal('result'),
  version: z.literal(TRAINER_CONTRACT_VERSION),
  users: z.array(trainerUserResult),
  steps_run: z.number().int(),
  seconds: z.number(),
  device: z.string(),
  /** Each step's training loss per user (null once a user stopped), and the held-out losses where evaluated. */
  history: z
    .array(
      z.object({
        step: z.number().int(),
        train_loss: z.array(z.number().nullable()),
        heldout_loss: z.array(z.number().nullable()).optional(),
        general_loss: z.array(z.number().nullable()).optional(),
      }),
    )
    .optional(),
});
export type TrainerResult = z.infer<typeof trainerResult>;

export const trainerProgress = z.object({
  event: z.literal('progress'),
  stage: z.string(),
  done: z.number(),
  total: z.number(),
  eta_s: z.number(),
  loss: z.number().optional(),
  active: z.number().optional(),
});
export type TrainerProgress = z.infer<typeof trainerProgress>;
