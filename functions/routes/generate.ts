// POST /v1/generate: text for a user, with their adapter (and styles) applied; JSON or Server-Sent Events.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { insertGeneration } from '../../core/db/generations.js';
import {
  type AdapterChoice,
  type GenerateRequest,
  type GenerateResponse,
  generateRequest,
  generateResponse,
  type StyleWeight,
} from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { ResolvedAdapters } from '../adapters/resolver.js';
import type { AdapterRef } from '../engine/engine.js';
import { adapterRoute, EngineUnavailableError } from '../engine/inference.js';
import { invalid } from '../http/errors.js';
import { newGenerationId } from '../http/generation-id.js';
import { APP_ERRORS, appSecurity, body, errors, routes } from '../http/openapi.js';
import { actingUser, callerApp, type HonoEnv, type Services, takeRateLimits } from '../http/services.js';

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
    await takeRateLimits(s, app, user);
    return generate(s, c, app, { ...req, user });
  });
}

/** A generation request once the acting user is known. */
export type Generation = GenerateRequest & { user: string };

/** Errors whose messages say what was wrong with an adapter and nothing of the server (paths, stacks). */
const SAFE_FALLBACKS = new Set(['AdapterError', 'StorageError', 'ModelPackageError']);

/** Why an adapter set could not be applied: a code for metrics and charts, a message safe to show a caller. */
export function fallbackOf(e: unknown): { code: string; reason: string } {
  if (e instanceof Error && SAFE_FALLBACKS.has(e.name))
    return { code: e.name, reason: `${e.name}: ${e.message}` };
  return { code: 'LoadError', reason: 'LoadError: the adapter could not be loaded' };
}

/** The adapters to apply, or the base model with the reason when they cannot be loaded. */
export async function adaptersOrFallback(
  s: Services,
  app: App,
  user: string,
  choice: AdapterChoice | undefined,
  styles: StyleWeight[],
): Promise<{ resolved: ResolvedAdapters; refs: AdapterRef[]; fallback?: { code: string; reason: string } }> {
  const adapter = choice ?? (await s.settings.of(app.id)).defaults.adapter;
  const resolved = await s.adapters.resolve(app.id, user, adapter, styles);
  if (resolved.refs.length === 0) return { resolved, refs: [] };
  try {
    // Loads into the cache of the engine the route goes to; the generation then finds them there.
    await s.engine.prepareAdapters(resolved.refs, { route: adapterRoute(resolved.refs) });
    return { resolved, refs: resolved.refs };
  } catch (e) {
    if (e instanceof EngineUnavailableError) throw e; // no engine at all: a 503, not the base model
    const fallback = fallbackOf(e);
    s.adapterFallbacks.inc({ reason: fallback.code });
    s.onError?.(e);
    return { resolved: { ...resolved, user: null, styles: [] }, refs: [], fallback };
  }
}

// The return types are the routes' own; Hono cannot see through a shared helper.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function generate(s: Services, c: Context<HonoEnv>, app: App, req: Generation): Promise<any> {
  const promptTokens = s.engine.model.tokenizer.encode(req.prompt).length;
  if (promptTokens > s.config.limits.maxPromptTokens) {
    throw invalid(`prompt: ${promptTokens} tokens, over the limit of ${s.config.limits.maxPromptTokens}`, {
      issues: [{ path: 'prompt', message: `at most ${s.config.limits.maxPromptTokens} tokens` }],
    });
  }
  const [{ resolved, refs, fallback }] = await Promise.all([
    adaptersOrFallback(s, app, req.user, req.adapter, req.styles),
    s.seen(app.id, req.user),
  ]);
  const id = await newGenerationId(app.signingSecret, req.user, s.now());
  const gen = s.engine.generate(req.prompt, {
    maxTokens: req.max_tokens,
    temperature: req.temperature,
    topP: req.top_p,
    topK: req.top_k,
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
    ...(req.stop ? { stop: req.stop } : {}),
    adapters: refs,
    route: adapterRoute(refs),
    stream: req.stream,
    signal: c.req.raw.signal,
  });

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
      },
      finishReason: r.finishReason,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      timingsMs: timings,
      fallbackReason: fallback?.code ?? null,
    });
    return {
      id,
      text: r.text,
      finish_reason: r.finishReason,
      adapter: resolved.user,
      ...(resolved.styles.length ? { styles: resolved.styles } : {}),
      ...(fallback ? { adapter_fallback: { reason: fallback.reason } } : {}),
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      timings_ms: timings,
      seed: r.seed,
    };
  };

  if (!req.stream) return c.json(await finish(), 200);
  return streamSSE(c, async (stream) => {
    try {
      for await (const piece of gen) await stream.writeSSE({ event: 'token', data: JSON.stringify(piece) });
      await stream.writeSSE({ event: 'done', data: JSON.stringify(await finish()) });
    } catch (e) {
      if (stream.aborted) return; // the client left: nothing to tell, nothing stored
      const unavailable = e instanceof EngineUnavailableError;
      if (!unavailable) s.onError?.(e);
      const message = e instanceof RangeError || unavailable ? e.message : 'generation failed';
      await stream.writeSSE({
        event: 'error',
        data: JSON.stringify({ error: { code: unavailable ? 'unavailable' : 'internal', message } }),
      });
    }
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
