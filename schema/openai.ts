// The OpenAI-compatible routes (/v1/completions, /v1/chat/completions, /v1/models) as zod schemas, in OpenAI's
// wire shapes. Requests are strict: a field Tailor does not know is refused before validation (400 naming it,
// functions/openai/refusals.ts), and the neutral values of fields it cannot honour are the only ones accepted
// here. Tailor's own controls ride along as extension fields (`adapter`, `styles`, `top_k`, `memory`); each answer's choice
// carries its own `generation_id`.

import { z } from 'zod';
import { adapterChoice, memoryChoice, styleWeight, userId } from './shared.js';

/** The most choices (`n`) a request may ask for: each is its own generation. */
export const MAX_CHOICES = 4;
/** The most alternatives per token: `logprobs` on /v1/completions (OpenAI's legacy limit), `top_logprobs` on chat. */
export const MAX_COMPLETION_LOGPROBS = 5;
export const MAX_TOP_LOGPROBS = 20;

export const openAiError = z
  .object({
    error: z.object({
      message: z.string(),
      /** `invalid_request_error`, `authentication_error`, `permission_error`, `rate_limit_error`, `server_error`. */
      type: z.string(),
      /** The request field at fault, when one is. */
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: 'OpenAIError' });
export type OpenAiErrorBody = z.infer<typeof openAiError>;

const stopStrings = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)]);

/** Fields the completions and chat requests share: sampling, streaming, the acting user, Tailor's extensions. */
const common = {
  /** The base model id (`GET /v1/models`), or `base:style` to apply that app style at weight 1. */
  model: z.string().min(1).max(200),
  max_tokens: z.int().min(1).max(512).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stop: stopStrings.nullish(),
  seed: z.int().nullish(),
  /** Choices to generate, 1 to 4: each its own generation (`generation_id`); with `seed`, choice i uses seed + i. */
  n: z.int().min(1).max(MAX_CHOICES).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() })
    .nullish(),
  /** The end user the request acts for: required with an app key; with a user token, absent or the token's. */
  user: userId.optional(),
  /** Neutral values only (0, `{}`, null): Tailor applies no penalties or biases. */
  presence_penalty: z.literal(0).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  logit_bias: z.strictObject({}).nullish(),
  // Tailor's extensions, as on /v1/generate.
  /** Tailor: which of the user's adapters to apply (default: the app's, `auto` unless changed). */
  adapter: adapterChoice.optional(),
  /** Tailor: app styles to mix in, with weights (a `base:style` model adds one at weight 1). */
  styles: z.array(styleWeight).max(4).optional(),
  /** Tailor: top-k sampling (0 turns it off; default 50). */
  top_k: z.int().min(0).max(4096).nullish(),
  /** Tailor: the user's own passages before the prompt (default: the app's, `none` unless changed). */
  memory: memoryChoice.optional(),
};

export const completionRequest = z
  .strictObject({
    ...common,
    /** One prompt: a string, or an array holding one string. */
    prompt: z.union([z.string().max(32_768), z.array(z.string().max(32_768)).length(1)]),
    /** Log-probabilities of the generated tokens with this many alternatives each (0 to 5); null or false: none. */
    logprobs: z.union([z.literal(false), z.int().min(0).max(MAX_COMPLETION_LOGPROBS)]).nullish(),
    echo: z.literal(false).nullish(),
    suffix: z.literal('').nullish(),
    best_of: z.literal(1).nullish(),
  })
  .meta({ id: 'OpenAICompletionRequest' });
export type CompletionRequest = z.infer<typeof completionRequest>;

const textPart = z.strictObject({ type: z.literal('text'), text: z.string().max(32_768) });

export const chatMessage = z
  .strictObject({
    /** `developer` is read as `system`. */
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string().max(32_768), z.array(textPart).max(64)]),
    /** Accepted and ignored. */
    name: z.string().max(64).optional(),
  })
  .meta({ id: 'OpenAIChatMessage' });
export type ChatMessage = z.infer<typeof chatMessage>;

export const chatRequest = z
  .strictObject({
    ...common,
    messages: z.array(chatMessage).min(1).max(256),
    max_completion_tokens: z.int().min(1).max(512).nullish(),
    /** true: the log-probability of each generated token, in `choices[i].logprobs.content`. */
    logprobs: z.boolean().nullish(),
    /** Alternatives per token (0 to 20), with `logprobs: true`. */
    top_logprobs: z.int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
    response_format: z.strictObject({ type: z.literal('text') }).nullish(),
    /** Only empty or null: no tool calling. */
    tools: z
      .array(z.strictObject({ type: z.string() }))
      .max(0)
      .nullish(),
    functions: z
      .array(z.strictObject({ name: z.string() }))
      .max(0)
      .nullish(),
    tool_choice: z.enum(['none', 'auto']).nullish(),
    function_call: z.enum(['none', 'auto']).nullish(),
    /** Accepted and ignored: there are no tools. */
    parallel_tool_calls: z.boolean().nullish(),
  })
  .meta({ id: 'OpenAIChatRequest' });
export type ChatRequest = z.infer<typeof chatRequest>;

const usage = z
  .object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0), total_tokens: z.int().min(0) })
  .meta({ id: 'OpenAIUsage' });
export type OpenAiUsage = z.infer<typeof usage>;

const finishReason = z.enum(['stop', 'length']);

/** Tailor: each choice's own generation id, for POST /v1/feedback (the answer's `id` is choice 0's). */
const generationId = z.string();

/**
 * /v1/completions `logprobs`: per generated token, its text (bytes not forming a whole character as `\xHH`), its
 * log-probability under the model's distribution (temperature, top-k and top-p do not apply), the most likely
 * alternatives (`{ token: logprob }`) and where its first character starts in the text (UTF-16 code units).
 */
const completionLogprobs = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number()),
    top_logprobs: z.array(z.record(z.string(), z.number())),
    text_offset: z.array(z.int()),
  })
  .meta({ id: 'OpenAICompletionLogprobs' });

const chatTopLogprob = z.object({
  token: z.string(),
  logprob: z.number(),
  /** The token's UTF-8 bytes (possibly part of a character); null for a special token. */
  bytes: z.array(z.int()).nullable(),
});

/** /v1/chat/completions `logprobs`: per generated token, as OpenAI gives it. */
const chatLogprobs = z
  .object({
    content: z.array(chatTopLogprob.extend({ top_logprobs: z.array(chatTopLogprob) })).nullable(),
    refusal: z.null(),
  })
  .meta({ id: 'OpenAIChatLogprobs' });

/** What every answer and chunk starts with: the generation id, when, and the model asked for. */
const head = { id: z.string(), created: z.int(), model: z.string() };

export const completionResponse = z
  .object({
    /** The generation id: the same as /v1/generate's, for POST /v1/feedback `generation_id`. */
    ...head,
    object: z.literal('text_completion'),
    choices: z.array(
      z.object({
        text: z.string(),
        index: z.int(),
        logprobs: completionLogprobs.nullable(),
        finish_reason: finishReason,
        generation_id: generationId,
      }),
    ),
    usage,
  })
  .meta({ id: 'OpenAICompletion' });

export const chatResponse = z
  .object({
    ...head,
    object: z.literal('chat.completion'),
    choices: z.array(
      z.object({
        index: z.int(),
        message: z.object({ role: z.literal('assistant'), content: z.string() }),
        finish_reason: finishReason,
        logprobs: chatLogprobs.nullable(),
        generation_id: generationId,
      }),
    ),
    usage,
  })
  .meta({ id: 'OpenAIChatCompletion' });

/** One `data:` line of a streamed completion (then `data: [DONE]`). */
export const completionChunk = z
  .object({
    ...head,
    object: z.literal('text_completion'),
    choices: z.array(
      z.object({
        text: z.string(),
        index: z.int(),
        /** The tokens this chunk's text brings (offsets are into the whole text); null on the finish chunk. */
        logprobs: completionLogprobs.nullable(),
        finish_reason: finishReason.nullable(),
        generation_id: generationId,
      }),
    ),
    usage: usage.nullish(),
  })
  .meta({ id: 'OpenAICompletionChunk' });

/** One `data:` line of a streamed chat completion (then `data: [DONE]`). */
export const chatChunk = z
  .object({
    ...head,
    object: z.literal('chat.completion.chunk'),
    choices: z.array(
      z.object({
        index: z.int(),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        /** The tokens this chunk's content brings; null on the role and finish chunks. */
        logprobs: chatLogprobs.nullable(),
        finish_reason: finishReason.nullable(),
        generation_id: generationId,
      }),
    ),
    usage: usage.nullish(),
  })
  .meta({ id: 'OpenAIChatCompletionChunk' });

export const modelItem = z
  .object({ id: z.string(), object: z.literal('model'), created: z.int(), owned_by: z.string() })
  .meta({ id: 'OpenAIModel' });

export const modelList = z
  .object({ object: z.literal('list'), data: z.array(modelItem) })
  .meta({ id: 'OpenAIModelList' });
