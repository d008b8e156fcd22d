// The part of the training recipe a job may carry: partial settings applied over the worker's defaults
// (gpu-worker/recipe.ts), e.g. tiny step budgets in tests. Part of the job payload contract, so it lives here,
// where the producers (scheduler, admin API) and the worker both read it.
import { z } from 'zod';
import { trainSettings } from './trainer-contract.js';

export const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** Partial settings a job (or a scheduler) may carry; applied over the defaults. */
export const recipeOverrides = z
  .object({
    lora: z
      .object({
        r: z.number().int().min(1).max(64),
        alpha: z.number().positive(),
        targets: z.array(z.enum(ALL_TARGETS as [string, ...string[]])).min(1),
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
  })
  .partial();
export type RecipeOverrides = z.infer<typeof recipeOverrides>;
