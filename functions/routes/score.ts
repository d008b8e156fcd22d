// POST /v1/score: the negative log-likelihood of texts (after a context) under the user's adapter: how well
// each candidate fits this reader. Apps rank candidates with it.
import { createRoute } from '@hono/zod-openapi';
import {
  type ScoreRequest,
  type ScoreResponse,
  scoreRequest,
  scoreResponse,
} from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import { isInputRefused } from '../http/engine-errors.js';
import { invalid } from '../http/errors.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import { actingUser, callerApp, type Services, takeRateLimits } from '../http/services.js';
import { adaptersOrFallback, memoryFor } from './generate.js';

export const scoreRoute = createRoute({
  method: 'post',
  path: '/v1/score',
  tags: ['generate'],
  summary: "Score texts under the user's adapter",
  description:
    'The negative log-likelihood (nats) of each text after an optional context: lower fits the reader better. ' +
    'Apps rank candidate continuations with it.',
  security: appSecurity,
  request: { body: body(scoreRequest) },
  responses: {
    200: json(scoreResponse, 'One result per text, in order'),
    ...errors(...APP_ERRORS, 404, 409, 503),
  },
});

export function scoreRoutes(s: Services) {
  return routes().openapi(scoreRoute, async (c) => {
    const app = callerApp(c);
    const req = c.req.valid('json');
    const user = actingUser(c, req.user);
    await takeRateLimits(s, app, user, req.texts.length); // one unit a text
    return c.json(await score(s, app, user, req), 200);
  });
}

/** Scores texts for a user once the caller is known (an app, or an operator). */
export async function score(s: Services, app: App, user: string, req: ScoreRequest): Promise<ScoreResponse> {
  // Memory takes what the longest text leaves of the context; its words come from the context, else
  // (no context) the user's latest passages are recalled.
  const { tokenizer, contextLength } = s.engine.model(s.baseModelId);
  // Tokenized once: measured here for the room memory may take, and handed to the engine as they are.
  let texts: number[][] | undefined;
  const textIds = () => {
    texts ??= req.texts.map((t) => tokenizer.encode(t));
    return texts;
  };
  const room = () => contextLength - 1 - Math.max(...textIds().map((ids) => ids.length));
  const [{ resolved, refs, fallback }, memory] = await Promise.all([
    adaptersOrFallback(s, app, user, req.adapter, req.styles),
    memoryFor(s, app, user, req.memory, req.context ?? '', room),
  ]);
  let results: Awaited<ReturnType<typeof s.engine.score>>;
  try {
    results = await s.engine.score(
      textIds().map((ids) => ({ ids })),
      {
        base: s.baseModelId,
        ...(req.context ? { context: req.context } : {}),
        ...(memory?.ids?.length ? { memory: { ids: memory.ids } } : {}),
        adapters: refs,
      },
    );
  } catch (e) {
    if (isInputRefused(e)) {
      const message = (e as Error).message;
      throw invalid(`texts: ${message}`, { issues: [{ path: 'texts', message }] });
    }
    throw e;
  }
  const out: ScoreResponse = {
    adapter: resolved.user,
    ...(resolved.styles.length ? { styles: resolved.styles } : {}),
    ...(fallback ? { adapter_fallback: { reason: fallback.reason } } : {}),
    ...(memory ? { memory: { items: memory.items, tokens: memory.tokens } } : {}),
    results: results.map((r) => ({ tokens: r.tokens, nll: r.nll, mean_nll: r.meanNll })),
  };
  return out;
}
