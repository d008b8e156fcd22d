// POST /v1/score: the negative log-likelihood of texts (after a context) under the user's adapter: how well
// each candidate fits this reader. Apps rank candidates with it.
import { Hono } from 'hono';
import { type ScoreResponse, scoreRequest } from '../../schema/contracts.js';
import { invalid } from '../http/errors.js';
import { actingUser, callerApp, type HonoEnv, type Services, takeRateLimits } from '../http/services.js';
import { parseWith, readJson } from '../http/validate.js';
import { adaptersOrFallback, bodyField, withUser } from './generate.js';

export function scoreRoutes(s: Services) {
  return new Hono<HonoEnv>().post('/v1/score', async (c) => {
    const app = callerApp(c);
    const raw = await readJson(c);
    const req = parseWith(scoreRequest, withUser(raw, actingUser(c, bodyField(raw, 'user'))));
    takeRateLimits(s, app.id, req.user);
    const { resolved, refs, fallback } = await adaptersOrFallback(s, app, req.user, req.adapter, req.styles);
    let results: Awaited<ReturnType<typeof s.engine.score>>;
    try {
      results = await s.engine.score(req.texts, {
        ...(req.context ? { context: req.context } : {}),
        adapters: refs,
      });
    } catch (e) {
      if (e instanceof RangeError)
        throw invalid(`texts: ${e.message}`, { issues: [{ path: 'texts', message: e.message }] });
      throw e;
    }
    const body: ScoreResponse = {
      adapter: resolved.user,
      ...(resolved.styles.length ? { styles: resolved.styles } : {}),
      ...(fallback ? { adapter_fallback: { reason: fallback } } : {}),
      results: results.map((r) => ({ tokens: r.tokens, nll: r.nll, mean_nll: r.meanNll })),
    };
    return c.json(body);
  });
}
