// OpenAI-compatible routes: POST /v1/completions and POST /v1/chat/completions (the models are in models.ts),
// in OpenAI's request, response, stream and error shapes, so OpenAI clients work pointed at Tailor unchanged.
// They run /v1/generate's pipeline (startGeneration): the same auth, rate limits, adapters, styles, stored
// generation and generation id. Fields Tailor cannot honour are refused with a 400 naming them; nothing is written.
import { createRoute } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { listStyles } from '../../core/db/adapters.js';
import type { TokenLogprob } from '../../engine/index.js';
import {
  DEFAULT_MAX_TOKENS,
  type GenerateResponse,
  generateRequest,
  type StyleWeight,
} from '../../schema/contracts.js';
import {
  type ChatMessage,
  type ChatRequest,
  type CompletionRequest,
  chatRequest,
  chatResponse,
  completionRequest,
  completionResponse,
  MAX_CHOICES,
  MAX_COMPLETION_LOGPROBS,
  MAX_TOP_LOGPROBS,
  type OpenAiErrorBody,
  type OpenAiUsage,
  openAiError,
} from '../../schema/openai.js';
import type { App } from '../../schema/tables.js';
import { isEngineUnavailable, streamErrorOf } from '../http/engine-errors.js';
import { ApiError, errorResponse } from '../http/errors.js';
import { appSecurity, body, json, routes } from '../http/openapi.js';
import {
  actingUser,
  callerApp,
  generationUnits,
  type HonoEnv,
  type Services,
  takeRateLimits,
} from '../http/services.js';
import { type Generation, type StartedGeneration, type StartOptions, startGeneration } from './generate.js';

/** The paths whose errors are given in OpenAI's shape (app.onError asks); `/v1/models/{model}/files` is not. */
const OPENAI_PATHS = new Set(['/v1/completions', '/v1/chat/completions', '/v1/models']);
export const isOpenAiPath = (path: string) => {
  const p = path.replace(/\/+$/, '');
  return OPENAI_PATHS.has(p) || /^\/v1\/models\/[^/]+$/.test(p);
};

/** An error already in OpenAI's terms: the field at fault and OpenAI's code. */
export class OpenAiError extends Error {
  override name = 'OpenAiError';
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const refuse = (param: string, message: string) =>
  new OpenAiError(400, message, param, 'unsupported_parameter');
const outOfRange = (param: string, message: string) => new OpenAiError(400, message, param, 'invalid_value');
const intIn = (v: unknown, lo: number, hi: number) =>
  Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

const TYPES: Partial<Record<number, string>> = {
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
};
const CODES: Record<string, string> = {
  unauthorized: 'invalid_api_key',
  rate_limited: 'rate_limit_exceeded',
};

/** Any error on these paths as `{ error: { message, type, param, code } }`, with the status and headers the
 * rest of the API gives it (Retry-After on a 429 or 503). */
export async function openAiErrorResponse(
  c: Context,
  err: unknown,
  onInternal?: (err: unknown) => void,
): Promise<Response> {
  if (err instanceof OpenAiError) {
    const body: OpenAiErrorBody = {
      error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code },
    };
    return c.json(body, err.status);
  }
  const res = errorResponse(c, err, onInternal); // sets the headers (Retry-After) on c as well
  const { error } = (await res.json()) as {
    error: { code: string; message: string; details?: { issues?: { path: string }[] } };
  };
  const path = error.details?.issues?.[0]?.path;
  const body: OpenAiErrorBody = {
    error: {
      message: error.message,
      type: TYPES[res.status] ?? (res.status >= 500 ? 'server_error' : 'invalid_request_error'),
      param: path && path !== '(body)' ? path : null,
      code: CODES[error.code] ?? error.code,
    },
  };
  return c.json(body, res.status as ContentfulStatusCode);
}

const ERROR_TEXT = {
  400: 'A field Tailor cannot honour (`param` names it), an unknown field, or a body that is not JSON',
  401: 'No valid credential (API key, user token)',
  403: 'A user token acting for another user, or the admin token',
  404: 'No such model (`GET /v1/models` lists them), adapter version or style',
  409: 'The adapter version named cannot be served',
  413: 'The body is over the size limit',
  415: 'The body is not sent as application/json',
  422: 'A field is invalid: `param` names it',
  429: 'Over a rate limit: retry after `Retry-After` seconds',
  503: 'No engine is available now: retry after `Retry-After` seconds',
} as const;
export function oaErrors(...statuses: (keyof typeof ERROR_TEXT)[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(openAiError, ERROR_TEXT[s])])) as Record<
    keyof typeof ERROR_TEXT,
    ReturnType<typeof json<typeof openAiError>>
  >;
}
const GENERATION_ERRORS = oaErrors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503);

const answer = (schema: z.ZodType, what: string) => ({
  description: `${what} (JSON), or its stream (\`stream: true\`): \`data: {chunk}\` lines, then \`data: [DONE]\``,
  content: { 'application/json': { schema }, 'text/event-stream': { schema: z.string() } },
});

// ── refusals, before validation ─────────────────────────────────────────────────────────────────────

type Body = Record<string, unknown>;
const given = (v: unknown) => v !== undefined && v !== null;

/** Refuses, with a 400 naming the field, what would change behaviour Tailor cannot honour, and unknown fields. */
function refusals(known: readonly string[], chat: boolean): MiddlewareHandler<HonoEnv> {
  const fields = new Set(known);
  return async (c, next) => {
    let b: unknown;
    try {
      b = await c.req.json();
    } catch {
      return next(); // not JSON (or not sent as JSON): the validator says so
    }
    if (b && typeof b === 'object' && !Array.isArray(b)) check(b as Body, fields, chat);
    await next();
  };
}

function check(b: Body, fields: Set<string>, chat: boolean): void {
  const n = b.n;
  if (given(n) && !intIn(n, 1, MAX_CHOICES))
    throw outOfRange('n', `n: from 1 to ${MAX_CHOICES} choices per request (got ${JSON.stringify(n)})`);
  for (const f of ['presence_penalty', 'frequency_penalty'])
    if (given(b[f]) && b[f] !== 0)
      throw refuse(f, `${f}: penalties are not supported; send 0 or leave it out`);
  const bias = b.logit_bias;
  if (given(bias) && (typeof bias !== 'object' || Object.keys(bias as object).length > 0))
    throw refuse('logit_bias', 'logit_bias: not supported; send {} or leave it out');
  const lp = b.logprobs;
  if (!chat && given(lp) && lp !== false && !intIn(lp, 0, MAX_COMPLETION_LOGPROBS))
    throw outOfRange(
      'logprobs',
      `logprobs: alternatives per token, an integer from 0 to ${MAX_COMPLETION_LOGPROBS} (got ${JSON.stringify(lp)})`,
    );
  if (chat && given(lp) && typeof lp !== 'boolean')
    throw outOfRange('logprobs', `logprobs: true or false (got ${JSON.stringify(lp)})`);
  const top = b.top_logprobs;
  if (chat && given(top)) {
    if (!intIn(top, 0, MAX_TOP_LOGPROBS))
      throw outOfRange(
        'top_logprobs',
        `top_logprobs: an integer from 0 to ${MAX_TOP_LOGPROBS} (got ${JSON.stringify(top)})`,
      );
    if ((top as number) > 0 && lp !== true)
      throw outOfRange('top_logprobs', 'top_logprobs: needs logprobs: true');
  }
  if (b.echo === true) throw refuse('echo', 'echo: not supported');
  if (given(b.suffix) && b.suffix !== '') throw refuse('suffix', 'suffix: insertion is not supported');
  if (given(b.best_of) && b.best_of !== 1) throw refuse('best_of', 'best_of: only 1 is supported');
  const format = b.response_format as { type?: unknown } | null | undefined;
  if (given(format) && format?.type !== 'text')
    throw refuse('response_format', 'response_format: only { "type": "text" } is supported');
  for (const f of ['tools', 'functions'])
    if (given(b[f]) && !(Array.isArray(b[f]) && (b[f] as unknown[]).length === 0))
      throw refuse(f, `${f}: tool and function calling are not supported`);
  for (const f of ['tool_choice', 'function_call'])
    if (given(b[f]) && b[f] !== 'none' && b[f] !== 'auto')
      throw refuse(f, `${f}: tool and function calling are not supported`);
  if (Array.isArray(b.prompt) && (b.prompt.length !== 1 || typeof b.prompt[0] !== 'string'))
    throw refuse('prompt', 'prompt: one prompt per request, as a string (or an array of one string)');
  if (chat && Array.isArray(b.messages)) {
    for (const [i, m] of b.messages.entries()) {
      if (!m || typeof m !== 'object') continue;
      const msg = m as Body;
      if (msg.role === 'tool' || msg.role === 'function')
        throw refuse(`messages[${i}].role`, `messages[${i}].role: ${msg.role} messages are not supported`);
      for (const k of Object.keys(msg))
        if (!['role', 'content', 'name'].includes(k) && given(msg[k]))
          throw refuse(`messages[${i}].${k}`, `messages[${i}].${k}: not supported`);
      if (Array.isArray(msg.content)) {
        for (const [j, part] of msg.content.entries()) {
          const type = (part as Body | null)?.type;
          if (type !== 'text')
            throw refuse(
              `messages[${i}].content[${j}].type`,
              `messages[${i}].content[${j}].type: only text parts are supported (got ${JSON.stringify(type)})`,
            );
        }
      }
    }
  }
  for (const k of Object.keys(b))
    if (!fields.has(k)) throw refuse(k, `Unrecognized request argument supplied: ${k}`);
}

// ── routes ──────────────────────────────────────────────────────────────────────────────────────────

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
      return run(s, c, req, prompt, 'text_completion');
    })
    .openapi(chatCompletionsRoute, async (c) => {
      const req = c.req.valid('json');
      return run(s, c, req, chatPrompt(req.messages), 'chat.completion');
    });
}

const secs = (d: Date) => Math.floor(d.getTime() / 1000);

/** The chat template: the base model continues one text made of the messages. */
export function chatPrompt(messages: ChatMessage[]): string {
  const text = (m: ChatMessage) =>
    typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n');
  const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';
  const parts = [...messages.filter(isSystem), ...messages.filter((m) => !isSystem(m))]
    .map(text)
    .filter((t) => t.length > 0);
  const joined = parts.join('\n\n');
  return messages.at(-1)?.role === 'assistant' || joined === '' ? joined : `${joined}\n\n`;
}

/** The styles a `model` applies: none for the base model, one for `base:style`; anything else is a 404. */
async function modelStyles(s: Services, app: App, model: string): Promise<StyleWeight[]> {
  if (model === s.baseModelId) return [];
  const prefix = `${s.baseModelId}:`;
  if (model.startsWith(prefix)) {
    const id = model.slice(prefix.length);
    const styles = await listStyles(s.db, app.id);
    if (styles.some((st) => st.styleId === id && st.activeVersion !== null)) return [{ id, weight: 1 }];
  }
  throw new OpenAiError(
    404,
    `The model '${model}' does not exist: GET /v1/models lists the models`,
    'model',
    'model_not_found',
  );
}

const finishReason = (r: GenerateResponse['finish_reason']) => (r === 'length' ? 'length' : 'stop');
/** Prompt tokens once (every choice has the same prompt), completion tokens summed over the choices. */
const usageOf = (rs: GenerateResponse[]): OpenAiUsage => {
  const prompt = rs[0]?.usage.prompt_tokens ?? 0;
  const completion = rs.reduce((n, r) => n + r.usage.completion_tokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

/** Legacy completions logprobs; a `top_logprobs` entry keeps the first (most likely) of tokens that look alike. */
const completionLogprobs = (lp: readonly TokenLogprob[]) => ({
  tokens: lp.map((t) => t.token),
  token_logprobs: lp.map((t) => t.logprob),
  top_logprobs: lp.map((t) => {
    const seen = new Map<string, number>();
    for (const a of t.top) if (!seen.has(a.token)) seen.set(a.token, a.logprob);
    return Object.fromEntries(seen);
  }),
  text_offset: lp.map((t) => t.offset),
});
const chatLogprobs = (lp: readonly TokenLogprob[]) => ({
  content: lp.map((t) => ({
    token: t.token,
    logprob: t.logprob,
    bytes: t.bytes,
    top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })),
  })),
  refusal: null,
});

/** Choice i's seed: seed + i, so a whole answer is reproducible (seed − i past the safe integers). */
const choiceSeed = (seed: number, i: number) => (Number.isSafeInteger(seed + i) ? seed + i : seed - i);

type Kind = 'text_completion' | 'chat.completion';

const siblingFailed = () => new DOMException('another choice of the request failed', 'AbortError');

// The return types are the routes' own; Hono cannot see through a shared helper.
async function run(
  s: Services,
  c: Context<HonoEnv>,
  req: CompletionRequest | ChatRequest,
  prompt: string,
  kind: Kind,
  // biome-ignore lint/suspicious/noExplicitAny: see above
): Promise<any> {
  const app = callerApp(c);
  const user = actingUser(c, req.user);
  const maxTokens =
    ('max_completion_tokens' in req ? req.max_completion_tokens : undefined) ?? req.max_tokens;
  const n = req.n ?? 1;
  // Every choice is a generation: n of them cost n times one.
  await takeRateLimits(s, app, user, generationUnits(n, maxTokens ?? DEFAULT_MAX_TOKENS));
  const styles = [...(req.styles ?? []), ...(await modelStyles(s, app, req.model))];
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? undefined);
  const parsed = generateRequest.safeParse({
    prompt,
    ...(maxTokens != null ? { max_tokens: maxTokens } : {}),
    ...(req.temperature != null ? { temperature: req.temperature } : {}),
    ...(req.top_p != null ? { top_p: req.top_p } : {}),
    ...(req.top_k != null ? { top_k: req.top_k } : {}),
    ...(req.seed != null ? { seed: req.seed } : {}),
    ...(stop?.length ? { stop } : {}),
    ...(req.adapter !== undefined ? { adapter: req.adapter } : {}),
    ...(req.memory !== undefined ? { memory: req.memory } : {}),
    styles,
    stream: req.stream ?? false,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OpenAiError(
      422,
      `invalid request: ${issue?.path.join('.')}: ${issue?.message}`,
      issue?.path.join('.') || null,
      'invalid_request',
    );
  }
  // Log-probabilities: chat `logprobs: true` (+ `top_logprobs`), completions `logprobs: k`; undefined = none.
  const logprobs =
    kind === 'chat.completion'
      ? (req as ChatRequest).logprobs === true
        ? ((req as ChatRequest).top_logprobs ?? 0)
        : undefined
      : typeof (req as CompletionRequest).logprobs === 'number'
        ? ((req as CompletionRequest).logprobs as number)
        : undefined;
  const withLogprobs = logprobs !== undefined;
  const generation: Generation = { ...parsed.data, user };
  // Each choice is its own generation (stored, with its id); a failure stops the choices already running.
  const stopper = new AbortController();
  const opts: StartOptions = { signal: stopper.signal, ...(withLogprobs ? { logprobs } : {}) };
  const choices: StartedGeneration[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const seed = generation.seed === undefined ? {} : { seed: choiceSeed(generation.seed, i) };
      choices.push(await startGeneration(s, c, app, { ...generation, ...seed }, opts));
    }
  } catch (e) {
    stopper.abort(siblingFailed());
    // The prompt is the chat's messages: name the field the caller sent.
    if (kind === 'chat.completion' && e instanceof ApiError && e.status === 422 && /^prompt:/.test(e.message))
      throw new OpenAiError(422, e.message.replace(/^prompt/, 'messages'), 'messages', 'invalid_request');
    throw e;
  }
  const id = (choices[0] as StartedGeneration).id;
  const created = secs(new Date(s.now()));
  const head = { id, created, model: req.model };
  const toLogprobs = kind === 'text_completion' ? completionLogprobs : chatLogprobs;

  if (!req.stream) {
    let done: { r: GenerateResponse; lp: TokenLogprob[] | undefined }[];
    try {
      done = await Promise.all(
        choices.map(async (ch) => ({
          r: await ch.finish(),
          lp: withLogprobs ? await ch.logprobs() : undefined,
        })),
      );
    } catch (e) {
      stopper.abort(siblingFailed());
      throw e;
    }
    const usage = usageOf(done.map((d) => d.r));
    if (kind === 'text_completion') {
      return c.json(
        {
          ...head,
          object: 'text_completion' as const,
          choices: done.map(({ r, lp }, index) => ({
            text: r.text,
            index,
            logprobs: lp ? completionLogprobs(lp) : null,
            finish_reason: finishReason(r.finish_reason),
            generation_id: r.id,
          })),
          usage,
        },
        200,
      );
    }
    return c.json(
      {
        ...head,
        object: 'chat.completion' as const,
        choices: done.map(({ r, lp }, index) => ({
          index,
          message: { role: 'assistant' as const, content: r.text },
          finish_reason: finishReason(r.finish_reason),
          logprobs: lp ? chatLogprobs(lp) : null,
          generation_id: r.id,
        })),
        usage,
      },
      200,
    );
  }

  const includeUsage = req.stream_options?.include_usage === true;
  const object = kind === 'text_completion' ? 'text_completion' : 'chat.completion.chunk';
  const chunk = (
    index: number | null,
    choice: Record<string, unknown> | null,
    logprobs: TokenLogprob[] | null,
    usage?: OpenAiUsage,
  ) =>
    JSON.stringify({
      ...head,
      object,
      choices:
        index !== null && choice
          ? [
              {
                index,
                ...choice,
                logprobs: logprobs ? toLogprobs(logprobs) : null,
                generation_id: choices[index]?.id,
              },
            ]
          : [],
      ...(includeUsage ? { usage: usage ?? null } : {}),
    });
  const piece = (
    index: number,
    text: string,
    finish_reason: string | null,
    logprobs: TokenLogprob[] | null,
  ) =>
    kind === 'text_completion'
      ? chunk(index, { text, finish_reason }, logprobs)
      : chunk(index, { delta: finish_reason ? {} : { content: text }, finish_reason }, logprobs);
  return streamSSE(c, async (stream) => {
    // The choices stream at once, their chunks one at a time; once one fails, nothing more of the others.
    let queue: Promise<void> = Promise.resolve();
    let failed = false;
    const write = (data: string) => {
      queue = queue.then(() => (failed ? undefined : stream.writeSSE({ data })));
      return queue;
    };
    try {
      if (kind === 'chat.completion')
        for (const [i] of choices.entries())
          await write(chunk(i, { delta: { role: 'assistant', content: '' }, finish_reason: null }, null));
      const done = await Promise.all(
        choices.map(async (ch, i) => {
          for await (const p of ch.pieces)
            await write(piece(i, p.text, null, withLogprobs ? (p.logprobs ?? []) : null));
          const r = await ch.finish();
          await write(piece(i, '', finishReason(r.finish_reason), null));
          return r;
        }),
      );
      if (includeUsage) await write(chunk(null, null, null, usageOf(done)));
    } catch (e) {
      failed = true;
      stopper.abort(siblingFailed());
      await queue.catch(() => {});
      if (stream.aborted) return; // the client left: nothing to tell, nothing stored
      if (!isEngineUnavailable(e)) s.onError?.(e);
      const { code, message } = streamErrorOf(e);
      const error: OpenAiErrorBody['error'] = { message, type: 'server_error', param: null, code };
      await stream.writeSSE({ data: JSON.stringify({ error }) });
    }
    await stream.writeSSE({ data: '[DONE]' });
  });
}
