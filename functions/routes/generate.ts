// POST /v1/generate: text for a user, with their adapter (and styles) applied; JSON or Server-Sent Events.
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { insertGeneration } from '../../core/db/generations.js';
import { type GenerateRequest, type GenerateResponse, generateRequest } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { ResolvedAdapters } from '../adapters/resolver.js';
import type { AdapterRef } from '../engine/engine.js';
import { invalid } from '../http/errors.js';
import { newGenerationId } from '../http/generation-id.js';
import { actingUser, callerApp, type HonoEnv, type Services, takeRateLimits } from '../http/services.js';
import { parseWith, readJson } from '../http/validate.js';

export function generateRoutes(s: Services) {
  return new Hono<HonoEnv>().post('/v1/generate', async (c) => {
    const app = callerApp(c);
    const raw = await readJson(c);
    const user = actingUser(c, bodyField(raw, 'user'));
    const req = parseWith(generateRequest, withUser(raw, user));
    takeRateLimits(s, app.id, req.user);
    return generate(s, c, app, req);
  });
}

/** A user token may leave `user` out of the body; it is filled in before validation. */
export function withUser(raw: unknown, user: string | undefined): unknown {
  if (user === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  return { ...raw, user };
}

export function bodyField(raw: unknown, name: string): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const v = (raw as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** The adapters to apply, or the base model with the reason when they cannot be loaded. */
export async function adaptersOrFallback(
  s: Services,
  app: App,
  user: string,
  choice: GenerateRequest['adapter'],
  styles: GenerateRequest['styles'],
): Promise<{ resolved: ResolvedAdapters; refs: AdapterRef[]; fallback?: string }> {
  const resolved = await s.adapters.resolve(app.id, user, choice, styles);
  if (resolved.refs.length === 0) return { resolved, refs: [] };
  try {
    await s.engine.resolveLora(resolved.refs); // loads into the engine's cache; generation then hits it
    return { resolved, refs: resolved.refs };
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    s.adapterFallbacks.inc({ reason: e instanceof Error ? e.name : 'unknown' });
    s.onError?.(e);
    return { resolved: { ...resolved, user: null, styles: [] }, refs: [], fallback: reason };
  }
}

export async function generate(s: Services, c: Context<HonoEnv>, app: App, req: GenerateRequest) {
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
    });
    return {
      id,
      text: r.text,
      finish_reason: r.finishReason,
      adapter: resolved.user,
      ...(resolved.styles.length ? { styles: resolved.styles } : {}),
      ...(fallback ? { adapter_fallback: { reason: fallback } } : {}),
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      timings_ms: timings,
      seed: r.seed,
    };
  };

  if (!req.stream) return c.json(await finish());
  return streamSSE(c, async (stream) => {
    try {
      for await (const piece of gen) await stream.writeSSE({ event: 'token', data: JSON.stringify(piece) });
      await stream.writeSSE({ event: 'done', data: JSON.stringify(await finish()) });
    } catch (e) {
      if (stream.aborted) return; // the client left: nothing to tell, nothing stored
      s.onError?.(e);
      const message = e instanceof RangeError ? e.message : 'generation failed';
      await stream.writeSSE({
        event: 'error',
        data: JSON.stringify({ error: { code: 'internal', message } }),
      });
    }
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
