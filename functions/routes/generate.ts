// POST /v1/generate: text for a user, with their adapter (and styles) applied; JSON or Server-Sent Events.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { armOf, type GenerationArm } from '../../core/apps/experiment.js';
import { markAdapterBad } from '../../core/db/adapters.js';
import { insertGeneration } from '../../core/db/generations.js';
import {
  type AdapterRef,
  adapterSetKey,
  EngineError,
  type TextPiece,
  type TokenLogprob,
} from '../../engine/index.js';
import {
  type AdapterChoice,
  type GenerateRequest,
  type GenerateResponse,
  generateRequest,
  generateResponse,
  type MemoryChoice,
  type StyleWeight,
} from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { ResolvedAdapters } from '../adapters/resolver.js';
import { engineCode, fallbackOf, isEngineUnavailable, streamErrorOf } from '../http/engine-errors.js';
import { invalid } from '../http/errors.js';
import { APP_ERRORS, appSecurity, body, errors, routes } from '../http/openapi.js';
import {
  actingUser,
  callerApp,
  generationUnits,
  type HonoEnv,
  type Services,
  takeRateLimits,
} from '../http/services.js';
import { memoryBudget, type Recalled, recall } from '../memory/recall.js';

/** A generation's answer: JSON, or Server-Sent Events with `stream: true` (this route's and the admin one's). */
export const GENERATION_ANSWER = {
  description: 'The generation (JSON), or its stream (`stream: true`)',
  content: {
    'application/json': { schema: generateResponse },
    'text/event-stream': { schema: z.string() },
  },
} as const;

export const generateRoute = createRoute({
  method: 'post',
  path: '/v1/generate',
  tags: ['generate'],
  summary: 'Generate text for a user',
  description:
    "Applies the user's active adapter (or the version named, or none) and any app styles. With `stream: true` " +
    'the answer is Server-Sent Events: `token` events `{ text }`, then one `done` with the same object as the ' +
    'JSON answer (or `error`). Stop strings are never streamed, not even in part.',
  security: appSecurity,
  request: { body: body(generateRequest) },
  responses: {
    200: GENERATION_ANSWER,
    ...errors(...APP_ERRORS, 404, 409, 503),
  },
});

export function generateRoutes(s: Services) {
  return routes().openapi(generateRoute, async (c) => {
    const app = callerApp(c);
    const req = c.req.valid('json');
    const user = actingUser(c, req.user);
    await takeRateLimits(s, app, user, generationUnits(1, req.max_tokens));
    return generate(s, c, app, { ...req, user });
  });
}

/** A generation request once the acting user is known. */
export type Generation = GenerateRequest & { user: string };

/** `loading`, or a `storage_timeout` after `ms` (the load goes on: a later request finds it in the cache). */
function within<T>(loading: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new EngineError(
            'storage_timeout',
            `the adapter did not load within ${ms} ms; served by the base model`,
          ),
        ),
      ms,
    );
  });
  loading.catch(() => {}); // a load that fails after the timeout has nobody waiting on it
  return Promise.race([loading, late]).finally(() => clearTimeout(timer));
}

/**
 * A package that parsed badly (corrupt, truncated, wrong shapes, NaN weights, another base model's) is marked
 * bad so that no request loads it again. With several refs the one at fault is found by loading each alone.
 */
async function markBad(s: Services, resolved: ResolvedAdapters, error: Error): Promise<void> {
  // Each alone on the thread the set went to, so what loads is cached where the set is.
  const affinity = adapterSetKey(resolved.refs);
  const suspects =
    resolved.refs.length === 1
      ? [0]
      : (
          await Promise.all(
            resolved.refs.map((ref, i) =>
              s.engine.prepareAdapters([ref], { base: s.baseModelId, affinity }).then(
                () => -1,
                (e: unknown) => (engineCode(e) === 'adapter_invalid' ? i : -1),
              ),
            ),
          )
        ).filter((i) => i >= 0);
  for (const i of suspects) {
    const source = resolved.sources[i];
    if (!source) continue;
    const row = await markAdapterBad(s.db, source.owner, source.version, error.message);
    s.adapters.forget(source.owner);
    if (row) s.onError?.(new Error(`adapter ${row.storagePrefix} marked bad: ${error.message}`));
  }
}

type Prepared = {
  resolved: ResolvedAdapters;
  refs: AdapterRef[];
  fallback?: { code: string; reason: string };
};

/** The adapters to apply, or the base model with the reason when they cannot be loaded in time. */
export async function adaptersOrFallback(
  s: Services,
  app: App,
  user: string,
  choice: AdapterChoice | undefined,
  styles: StyleWeight[],
): Promise<Prepared> {
  const adapter = choice ?? (await s.settings.of(app.id)).defaults.adapter;
  return prepared(s, await s.adapters.resolve(app.id, user, adapter, styles));
}

/** Loads resolved adapters into the engine's cache, or falls back to the base model with the reason. */
async function prepared(s: Services, resolved: ResolvedAdapters): Promise<Prepared> {
  if (resolved.refs.length === 0) return { resolved, refs: [] };
  try {
    // Loads into the cache of the engine (thread) the set goes to; the generation then finds them there.
    await within(
      s.engine.prepareAdapters(resolved.refs, { base: s.baseModelId }),
      s.config.engine.adapterLoadTimeoutMs,
    );
    return { resolved, refs: resolved.refs };
  } catch (e) {
    if (isEngineUnavailable(e)) throw e; // no engine at all: a 503, not the base model
    const fallback = fallbackOf(e);
    s.adapterFallbacks.inc({ reason: fallback.code });
    const code = engineCode(e);
    if (code === 'adapter_invalid') await markBad(s, resolved, e as Error);
    else if (code !== 'storage_timeout') s.onError?.(e);
    return { resolved: { ...resolved, user: null, styles: [], sources: [] }, refs: [], fallback };
  }
}

/**
 * The user's memory for a request, or undefined when memory is off (the request's choice, else the app's
 * default). `room`: the most tokens the request leaves for it (the budget is the smaller of that and the
 * configured one), asked only when memory is on.
 */
export async function memoryFor(
  s: Services,
  app: App,
  user: string,
  choice: MemoryChoice | undefined,
  query: string,
  room: () => number = () => Number.POSITIVE_INFINITY,
): Promise<Recalled | undefined> {
  const memory = choice ?? (await s.settings.of(app.id)).defaults.memory;
  if (memory === 'none') return undefined;
  const { contextLength, tokenizer } = s.engine.model(s.baseModelId);
  const budget = Math.min(room(), memoryBudget(s.config.memory.tokens, contextLength));
  return recall(s.db, tokenizer, { appId: app.id, userId: user, query, budget });
}

/** A generation under way: its id, its text pieces, and `finish`, which stores it and gives the JSON answer. */
export interface StartedGeneration {
  id: string;
  pieces: AsyncIterable<TextPiece>;
  finish: () => Promise<GenerateResponse>;
  /** The tokens' log-probabilities once done (with `logprobs` asked; otherwise undefined). */
  logprobs: () => Promise<TokenLogprob[] | undefined>;
}

/** What only some routes ask of a generation. */
export interface StartOptions {
  /**
   * false: not in the app's holdout experiment (the console's generations as any user: an operator gets the
   * adapter asked for). Otherwise an `auto` request of a user with an adapter is.
   */
  experiment?: boolean;
  /** Log-probabilities with this many alternatives per token (engine `logprobs`). */
  logprobs?: number;
  /** Stops the generation (as the client leaving does): a choice whose siblings failed. */
  signal?: AbortSignal;
}

/**
 * Checks the prompt, applies the adapters (or falls back), records the user as seen and starts the engine:
 * the pipeline /v1/generate and the OpenAI-compatible routes share.
 */
export async function startGeneration(
  s: Services,
  c: Context<HonoEnv>,
  app: App,
  req: Generation,
  opts: StartOptions = {},
): Promise<StartedGeneration> {
  // Tokenized once: counted here against the limit, and handed to the engine as they are.
  const promptIds = s.engine.model(s.baseModelId).tokenizer.encode(req.prompt);
  const promptTokens = promptIds.length;
  if (promptTokens > s.config.limits.maxPromptTokens) {
    throw invalid(`prompt: ${promptTokens} tokens, over the limit of ${s.config.limits.maxPromptTokens}`, {
      issues: [{ path: 'prompt', message: `at most ${s.config.limits.maxPromptTokens} tokens` }],
    });
  }
  const settings = await s.settings.of(app.id);
  const choice = req.adapter ?? settings.defaults.adapter;
  const [resolution, recalled] = await Promise.all([
    s.adapters.resolve(app.id, req.user, choice, req.styles),
    memoryFor(s, app, req.user, req.memory ?? settings.defaults.memory, req.prompt),
  ]);
  let adapters = resolution;
  let memory = recalled;
  const id = await s.generationIds.mint(app.id, req.user, s.now());
  // The holdout experiment: only `auto` requests of a user who has an active adapter now, while it is on.
  const holdoutPercent = settings.experiment.holdout_percent;
  let arm: GenerationArm | null = null;
  if (opts.experiment !== false && choice === 'auto' && resolution.user && holdoutPercent > 0) {
    arm = armOf(id, holdoutPercent);
    // Held out: not personalized at all — the base model (with the app styles asked for) and no memory.
    if (arm === 'holdout') {
      adapters = await s.adapters.resolve(app.id, req.user, 'none', req.styles);
      memory = undefined;
    }
  }
  // Seen only once the adapters resolve: a refused request (an unknown version or style) writes nothing.
  const { resolved, refs, fallback } = await prepared(s, adapters);
  await s.seen(app.id, req.user);
  const gen = s.engine.generate(
    { ids: promptIds },
    {
      base: s.baseModelId,
      maxTokens: req.max_tokens,
      temperature: req.temperature,
      topP: req.top_p,
      topK: req.top_k,
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(req.stop ? { stop: req.stop } : {}),
      adapters: refs,
      stream: req.stream,
      signal: opts.signal ? AbortSignal.any([c.req.raw.signal, opts.signal]) : c.req.raw.signal,
      ...(opts.logprobs !== undefined ? { logprobs: opts.logprobs } : {}),
      ...(memory?.ids?.length ? { memory: { ids: memory.ids } } : {}),
    },
  );
  const memoryUsed = memory ? { items: memory.items, tokens: memory.tokens } : undefined;

  const finish = async (): Promise<GenerateResponse> => {
    const r = await gen.result;
    const timings = {
      first_token: round(r.timings.firstTokenMs),
      total: round(r.timings.totalMs),
    };
    await insertGeneration(s.db, {
      id,
      appId: app.id,
      userId: req.user,
      prompt: req.prompt,
      text: r.text,
      adapterVersion: resolved.user?.version ?? null,
      styles: resolved.styles.map(({ id, weight }) => ({ id, weight })),
      params: {
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        seed: r.seed,
        stop: req.stop ?? [],
        ...(memoryUsed ? { memory: memoryUsed } : {}),
      },
      finishReason: r.finishReason,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      timingsMs: timings,
      fallbackReason: fallback?.code ?? null,
      arm,
    });
    return {
      id,
      text: r.text,
      finish_reason: r.finishReason,
      adapter: resolved.user,
      ...(resolved.styles.length ? { styles: resolved.styles } : {}),
      ...(fallback ? { adapter_fallback: { reason: fallback.reason } } : {}),
      ...(memoryUsed ? { memory: memoryUsed } : {}),
      ...(arm ? { experiment: { arm } } : {}),
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      timings_ms: timings,
      seed: r.seed,
    };
  };

  return { id, pieces: gen, finish, logprobs: () => gen.result.then((r) => r.logprobs) };
}

// The return types are the routes' own; Hono cannot see through a shared helper.
export async function generate(
  s: Services,
  c: Context<HonoEnv>,
  app: App,
  req: Generation,
  opts: StartOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: see above
): Promise<any> {
  const { pieces: gen, finish } = await startGeneration(s, c, app, req, opts);
  if (!req.stream) return c.json(await finish(), 200);
  return streamSSE(c, async (stream) => {
    try {
      for await (const piece of gen) await stream.writeSSE({ event: 'token', data: JSON.stringify(piece) });
      await stream.writeSSE({ event: 'done', data: JSON.stringify(await finish()) });
    } catch (e) {
      if (stream.aborted) return; // the client left: nothing to tell, nothing stored
      if (!isEngineUnavailable(e)) s.onError?.(e);
      await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: streamErrorOf(e) }) });
    }
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
