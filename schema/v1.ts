// HTTP API v1, the apps' API, as zod schemas: generate, score, feedback, a user's adapter, export and training
// switch, the base model's files, health. One schema per request and response gives the validator, the TS type
// (z.infer) and the OpenAPI entry (`.meta({ id })` makes each a named component of /openapi.json). Requests are
// strict (an unknown field is a 422, so `maxTokens` does not pass silently); defaults are applied by parsing.

import { z } from 'zod';
import { adapterItem, feedbackItem, generationItem } from './items.js';
import {
  adapterChoice,
  adapterUsed,
  type ErrorBody,
  errorBody,
  experimentArm,
  finishReason,
  isoTime,
  memoryChoice,
  memoryUsed,
  rating,
  styleWeight,
  userId,
} from './shared.js';
import { adapterMetrics } from './training.js';

// ── /v1/generate ────────────────────────────────────────────────────────────────────────────────────

/** `user` is required with an app key; with a user token it defaults to the token's user (and must match). */
const actingUser = userId.optional();

/** A generation's length when the request names none (also what the rate limits charge for it). */
export const DEFAULT_MAX_TOKENS = 64;

/** A model as requests name it: a base model's id, or `<base>:<style>`. */
export const modelName = z.string().min(1).max(160);

export const generateRequest = z
  .strictObject({
    user: actingUser,
    prompt: z.string().max(32_768),
    max_tokens: z.int().min(1).max(512).default(DEFAULT_MAX_TOKENS),
    temperature: z.number().min(0).max(2).default(0.8),
    top_p: z.number().gt(0).max(1).default(0.95),
    /** 0 turns top-k off. */
    top_k: z.int().min(0).max(4096).default(50),
    seed: z.int().optional(),
    stop: z.array(z.string().min(1).max(256)).max(4).optional(),
    /** Left out: the app's default (settings `defaults.adapter`, `auto` unless changed). */
    adapter: adapterChoice.optional(),
    styles: z.array(styleWeight).max(4).default([]),
    /** Left out: the app's default (settings `defaults.memory`, `none` unless changed). */
    memory: memoryChoice.optional(),
    /** The base model (`GET /v1/models`), or `<base>:<style>`; left out, the platform's default base. */
    model: modelName.optional(),
    stream: z.boolean().default(false),
  })
  .meta({ id: 'GenerateRequest' });
export type GenerateRequest = z.infer<typeof generateRequest>;
export type GenerateRequestInput = z.input<typeof generateRequest>;

/** Styles applied with their active versions. */
export const stylesUsed = z.array(z.object({ id: z.string(), version: z.string(), weight: z.number() }));

/** Present when the adapters could not be loaded and the base model answered instead. */
export const adapterFallback = z.object({ reason: z.string() });

export const generateResponse = z
  .object({
    id: z.string(),
    text: z.string(),
    finish_reason: finishReason,
    /** The base model it ran on (the request's `model`, else the app's `model.base`, else the platform's). */
    model: z.string(),
    adapter: adapterUsed,
    styles: stylesUsed.optional(),
    adapter_fallback: adapterFallback.optional(),
    /** With memory on: the passages placed before the prompt (their tokens are not in usage.prompt_tokens). */
    memory: memoryUsed.optional(),
    /**
     * Present when the request is in the app's holdout experiment (settings `experiment`): `holdout` when the
     * base model answered instead of the user's adapter, `personalized` when the adapter did.
     */
    experiment: z.object({ arm: experimentArm }).optional(),
    usage: z.object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) }),
    timings_ms: z.record(z.string(), z.number()),
    /** The seed used (the request's, or a random one): the same seed and options give the same text. */
    seed: z.int(),
  })
  .meta({ id: 'GenerateResponse' });
export type GenerateResponse = z.infer<typeof generateResponse>;

/** Server-Sent Events of `stream: true`: `token` events, then one `done` (or `error`). */
export const generateStreamEvents = {
  token: z.object({ text: z.string() }),
  done: generateResponse,
  error: errorBody,
} as const;
export type GenerateStreamEvent =
  | { event: 'token'; data: z.infer<typeof generateStreamEvents.token> }
  | { event: 'done'; data: GenerateResponse }
  | { event: 'error'; data: ErrorBody };

// ── /v1/score ───────────────────────────────────────────────────────────────────────────────────────

export const scoreRequest = z
  .strictObject({
    user: actingUser,
    texts: z.array(z.string().min(1).max(32_768)).min(1).max(16),
    context: z.string().max(32_768).optional(),
    /** Left out: the app's default (settings `defaults.adapter`). */
    adapter: adapterChoice.optional(),
    styles: z.array(styleWeight).max(4).default([]),
    /** Left out: the app's default (settings `defaults.memory`); with `auto` the passages come before `context`. */
    memory: memoryChoice.optional(),
    /** The base model (`GET /v1/models`), or `<base>:<style>`; left out, the platform's default base. */
    model: modelName.optional(),
  })
  .meta({ id: 'ScoreRequest' });
export type ScoreRequest = z.infer<typeof scoreRequest>;

export const scoreResponse = z
  .object({
    adapter: adapterUsed,
    styles: stylesUsed.optional(),
    adapter_fallback: adapterFallback.optional(),
    memory: memoryUsed.optional(),
    results: z.array(
      z.object({
        tokens: z.int().min(0),
        /** Negative log-likelihood of the text's tokens (nats), summed, and per token. */
        nll: z.number(),
        mean_nll: z.number(),
      }),
    ),
  })
  .meta({ id: 'ScoreResponse' });
export type ScoreResponse = z.infer<typeof scoreResponse>;

// ── /v1/feedback ────────────────────────────────────────────────────────────────────────────────────

/** Points at a generation, or carries the text itself (content the user wrote, liked or disliked). */
export const feedbackRequest = z
  .strictObject({
    user: actingUser,
    generation_id: z.string().min(1).max(64).optional(),
    prompt: z.string().max(32_768).optional(),
    text: z.string().min(1).max(32_768).optional(),
    rating,
    /** The user's own correction: counts as a strong positive. */
    edited_text: z.string().min(1).max(32_768).optional(),
    idempotency_key: z.string().min(1).max(128).optional(),
  })
  .refine((f) => f.generation_id !== undefined || f.text !== undefined, {
    message: 'feedback needs generation_id or text',
    path: ['text'],
  })
  .meta({ id: 'FeedbackRequest' });
export type FeedbackRequest = z.infer<typeof feedbackRequest>;

/** 201 when recorded, 200 when the idempotency key was seen before (the same id). */
export const feedbackResponse = z.object({ id: z.string() }).meta({ id: 'FeedbackResponse' });
export type FeedbackResponse = z.infer<typeof feedbackResponse>;

// ── /v1/users/{user} ────────────────────────────────────────────────────────────────────────────────

export const userParams = z.object({ user: userId });

/**
 * A signed download link of one stored file: immutable (the link names the content's SHA-256, and a link whose
 * file changed answers 410), valid until `expires_at`. A device caches the bytes by `sha256`.
 */
export const fileLink = z
  .object({
    name: z.string(),
    url: z.string(),
    expires_at: isoTime,
    sha256: z.string(),
    size: z.int(),
  })
  .meta({ id: 'FileLink' });
export type FileLink = z.infer<typeof fileLink>;

/** An active style adapter version of the app, with its files: what a device needs to compose it. */
export const styleFiles = z
  .object({ id: z.string(), version: z.string(), files: z.array(fileLink) })
  .meta({ id: 'StyleFiles' });

export const userAdapterResponse = z
  .object({
    version: z.string(),
    created_at: isoTime,
    base_model: z.string(),
    metrics: adapterMetrics,
    /** The weights' link (kept for older clients; `files` has it too). */
    download: z.object({ url: z.string(), expires_at: isoTime }),
    /** Every file of the version: adapter_config.json, adapter_model.safetensors and tailor.json. */
    files: z.array(fileLink),
    /** The app's active styles, each with its files, for a device that composes them. */
    styles: z.array(styleFiles),
  })
  .meta({ id: 'UserAdapterResponse' });
export type UserAdapterResponse = z.infer<typeof userAdapterResponse>;

// DELETE /v1/users/{user} answers 204 with no body.

// ── /v1/models/{model}/files ──────────────────────────────────────────────────────────────────────

export const modelParams = z.object({ model: z.string().min(1).max(128) });

/** The base model package a device downloads once to generate on its own. */
export const modelFilesResponse = z
  .object({
    id: z.string(),
    /** SHA-256 of the weights: what every adapter package names as its base model. */
    hash: z.string(),
    /** config.json, tokenizer.json, tokenizer_config.json and model.onnx. */
    files: z.array(fileLink),
  })
  .meta({ id: 'ModelFilesResponse' });
export type ModelFilesResponse = z.infer<typeof modelFilesResponse>;

// ── system ──────────────────────────────────────────────────────────────────────────────────────────

export const healthResponse = z
  .object({
    status: z.enum(['ok', 'degraded']),
    database: z.enum(['ok', 'unreachable']),
    base_model: z.string(),
    check_ms: z.number(),
  })
  .meta({ id: 'Health' });

// ── users' rights ───────────────────────────────────────────────────────────────────────────────────

/** Everything Tailor stores about one user of an app (GET /v1/users/{user}/export). */
export const userExportResponse = z
  .object({
    app_id: z.string(),
    user: z.string(),
    exported_at: isoTime,
    /** null when the user was never seen (nothing stored). */
    profile: z
      .object({ created_at: isoTime, last_seen: isoTime, training_opted_out_at: isoTime.nullable() })
      .nullable(),
    feedback: z.array(feedbackItem),
    generations: z.array(generationItem),
    /** Every adapter version trained for them, with its metrics (which feedback it trained on, its losses). */
    adapters: z.array(adapterItem),
  })
  .meta({ id: 'UserExport' });
export type UserExport = z.infer<typeof userExportResponse>;

export const userTrainingRequest = z
  .strictObject({ enabled: z.boolean() })
  .meta({ id: 'UserTrainingRequest' });
export const userTrainingResponse = z
  .object({
    user: z.string(),
    enabled: z.boolean(),
    /** When the user opted out; null while training is enabled. */
    opted_out_at: isoTime.nullable(),
    /** The version retired by this opt-out (the user is served the base model now), if any. */
    retired_version: z.string().nullable(),
  })
  .meta({ id: 'UserTraining' });
