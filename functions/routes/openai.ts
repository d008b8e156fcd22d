// OpenAI-compatible routes: POST /v1/completions and POST /v1/chat/completions (the models are in models.ts),
// in OpenAI's request, response, stream and error shapes, so OpenAI clients work pointed at Tailor unchanged.
// They run /v1/generate's use case (usecases/generate.ts): the same auth, rate limits, adapters, styles, stored
// generation and generation id. Fields Tailor cannot honour are refused with a 400 naming them; nothing is
// written. The translation to and from OpenAI's shapes lives in ../openai/.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import {
  chatRequest,
  chatResponse,
  completionRequest,
  completionResponse,
  DEFAULT_MAX_TOKENS,
  MAX_CHOICES,
  MAX_COMPLETION_LOGPROBS,
  MAX_TOP_LOGPROBS,
} from '../../schema/contracts.js';
import { appSecurity, body, routes } from '../http/openapi.js';
import type { HonoEnv, Services } from '../http/services.js';
import { answerJson, answerStream, type Choices } from '../openai/answer.js';
import { OpenAiError, oaErrors } from '../openai/errors.js';
import { refusals } from '../openai/refusals.js';
import {
  chatPrompt,
  generationOf,
  type Kind,
  logprobsOf,
  maxTokensOf,
  modelStyles,
  type OpenAiRequest,
} from '../openai/request.js';
import { actingUser, callerApp } from '../usecases/caller.js';
import { UseCaseError } from '../usecases/errors.js';
import { startChoices } from '../usecases/generate.js';
import { generationUnits, takeRateLimits } from '../usecases/rate-limits.js';

const GENERATION_ERRORS = oaErrors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503);

const answer = (schema: z.ZodType, what: string) => ({
  description: `${what} (JSON), or its stream (\`stream: true\`): \`data: {chunk}\` lines, then \`data: [DONE]\``,
  content: { 'application/json': { schema }, 'text/event-stream': { schema: z.string() } },
});

const FIELDS_NOTE =
  `\`n\` up to ${MAX_CHOICES} (each choice its own generation; with \`seed\`, choice i uses seed + i) and ` +
  'log-probabilities (under the model’s distribution: temperature, top-k and top-p do not apply) are ' +
  'supported. Neutral values of fields Tailor cannot honour are accepted (penalties 0, `logit_bias: {}`); ' +
  'other values, values over the limits, and unknown fields are refused with a 400 naming the field (`param`). ' +
  'Extension fields: `adapter`, `styles` and `memory` (as on /v1/generate), `top_k`. `model` is the base model id, or ' +
  "`base:style` to apply an app style at weight 1. Errors are in OpenAI's shape `{ error: { message, type, " +
  'param, code } }`. Each choice has its `generation_id`, for POST /v1/feedback; the `id` is choice 0’s.';

export const completionsRoute = createRoute({
  method: 'post',
  path: '/v1/completions',
  tags: ['openai'],
  summary: 'OpenAI-compatible text completion',
  description:
    "OpenAI's legacy completions API over /v1/generate: `prompt` is continued. `logprobs: k` (0 to " +
    `${MAX_COMPLETION_LOGPROBS}) gives \`choices[i].logprobs\` { tokens, token_logprobs, top_logprobs, text_offset }. ${FIELDS_NOTE}`,
  security: appSecurity,
  middleware: [refusals(Object.keys(completionRequest.shape), false)] as const,
  request: { body: body(completionRequest) },
  responses: { 200: answer(completionResponse, 'The completion'), ...GENERATION_ERRORS },
});

export const chatCompletionsRoute = createRoute({
  method: 'post',
  path: '/v1/chat/completions',
  tags: ['openai'],
  summary: 'OpenAI-compatible chat completion',
  description:
    "OpenAI's chat completions API over /v1/generate. The base model is not chat-tuned: the messages become " +
    'one prompt (system and developer texts first, then every other message, each separated by a blank ' +
    'line; a last assistant message is continued, otherwise the reply starts after a blank line). ' +
    `\`logprobs: true\` with \`top_logprobs\` (0 to ${MAX_TOP_LOGPROBS}) gives \`choices[i].logprobs.content\`. ` +
    FIELDS_NOTE,
  security: appSecurity,
  middleware: [refusals(Object.keys(chatRequest.shape), true)] as const,
  request: { body: body(chatRequest) },
  responses: { 200: answer(chatResponse, 'The chat completion'), ...GENERATION_ERRORS },
});

export function openAiRoutes(s: Services) {
  return routes()
    .openapi(completionsRoute, async (c) => {
      const req = c.req.valid('json');
      const prompt = Array.isArray(req.prompt) ? (req.prompt[0] as string) : req.prompt;
      return complete(s, c, req, () => prompt, 'text_completion');
    })
    .openapi(chatCompletionsRoute, async (c) => {
      const req = c.req.valid('json');
      return complete(
        s,
        c,
        req,
        (base) => chatPrompt(req.messages, s.engine.model(base).tokenizer),
        'chat.completion',
      );
    });
}

/** Runs a completion's choices as generations and answers in OpenAI's shapes. */
async function complete(
  s: Services,
  c: Context<HonoEnv>,
  req: OpenAiRequest,
  /** The prompt on the base the request's `model` names (a chat is rendered with that base's template). */
  promptOn: (base: string) => string,
  kind: Kind,
): Promise<Response> {
  const caller = c.get('caller');
  const app = callerApp(caller);
  const user = actingUser(caller, req.user);
  const n = req.n ?? 1;
  // Every choice is a generation: n of them cost n times one.
  await takeRateLimits(s, app, user, generationUnits(n, maxTokensOf(req) ?? DEFAULT_MAX_TOKENS));
  const named = await modelStyles(s, app, req.model);
  const styles = [...(req.styles ?? []), ...named.styles];
  const generation = generationOf(req, promptOn(named.base), user, styles, named.base);
  const logprobs = logprobsOf(req, kind);
  let run: Choices;
  try {
    run = await startChoices(s, app, generation, n, {
      signal: c.req.raw.signal,
      ...(logprobs !== undefined ? { logprobs } : {}),
    });
  } catch (e) {
    // The prompt is the chat's messages: name the field the caller sent.
    if (
      kind === 'chat.completion' &&
      e instanceof UseCaseError &&
      e.code === 'invalid_request' &&
      /^prompt:/.test(e.message)
    )
      throw new OpenAiError(422, e.message.replace(/^prompt/, 'messages'), 'messages', 'invalid_request');
    throw e;
  }
  const options = {
    kind,
    created: Math.floor(s.now() / 1000),
    withLogprobs: logprobs !== undefined,
    onError: s.onError,
  };
  return req.stream ? answerStream(c, req, run, options) : answerJson(c, req, run, options);
}
