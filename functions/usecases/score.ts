// Scoring for a user: the negative log-likelihood of each text (after a context) under the user's adapters and
// memory — how well each candidate fits this reader. /v1/score and the admin API run it.
import type { ScoreRequest, ScoreResponse } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import { isInputRefused } from '../http/engine-errors.js';
import type { Services } from '../http/services.js';
import { chooseModel } from './bases.js';
import { invalidInput } from './errors.js';
import { adaptersOrFallback, memoryFor } from './personalize.js';

/** Scores texts for a user once the caller is known (an app, or an operator). */
export async function score(s: Services, app: App, user: string, req: ScoreRequest): Promise<ScoreResponse> {
  // Memory takes what the longest text leaves of the context; its words come from the context, else
  // (no context) the user's latest passages are recalled.
  const { base, styles } = await chooseModel(
    s,
    req.model ?? (await s.settings.of(app.id)).model.base,
    req.styles,
  );
  const { tokenizer, contextLength } = s.engine.model(base);
  // Tokenized once: measured here for the room memory may take, and handed to the engine as they are.
  let texts: number[][] | undefined;
  const textIds = () => {
    texts ??= req.texts.map((t) => tokenizer.encode(t));
    return texts;
  };
  const room = () => contextLength - 1 - Math.max(...textIds().map((ids) => ids.length));
  const [{ resolved, refs, fallback }, memory] = await Promise.all([
    adaptersOrFallback(s, app, user, req.adapter, styles, base),
    memoryFor(s, app, user, req.memory, req.context ?? '', room, base),
  ]);
  let results: Awaited<ReturnType<typeof s.engine.score>>;
  try {
    results = await s.engine.score(
      textIds().map((ids) => ({ ids })),
      {
        base,
        ...(req.context ? { context: req.context } : {}),
        ...(memory?.ids?.length ? { memory: { ids: memory.ids } } : {}),
        adapters: refs,
      },
    );
  } catch (e) {
    if (isInputRefused(e)) {
      const message = (e as Error).message;
      throw invalidInput(`texts: ${message}`, { path: 'texts', message });
    }
    throw e;
  }
  return {
    adapter: resolved.user,
    ...(resolved.styles.length ? { styles: resolved.styles } : {}),
    ...(fallback ? { adapter_fallback: { reason: fallback.reason } } : {}),
    ...(memory ? { memory: { items: memory.items, tokens: memory.tokens } } : {}),
    results: results.map((r) => ({ tokens: r.tokens, nll: r.nll, mean_nll: r.meanNll })),
  };
}
