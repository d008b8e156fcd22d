// What personalizes a request: the adapters it applies — loaded into the engine in time or, when they cannot be,
// the base model with the reason (counted; a package that parsed badly is marked bad on the way) — and the
// user's memory. Generation and scoring both go through here.
import { markAdapterBad } from '../../core/db/adapters.js';
import { type AdapterRef, adapterSetKey, EngineError } from '../../engine/index.js';
import type { AdapterChoice, MemoryChoice, StyleWeight } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { ResolvedAdapters } from '../adapters/resolver.js';
import { engineCode, fallbackOf, isEngineUnavailable } from '../http/engine-errors.js';
import type { Services } from '../http/services.js';
import { memoryBudget, type Recalled, recall } from '../memory/recall.js';
import { activeVersionChanged } from './adapters.js';

/** The adapters a request runs with: those resolved and loaded, or none with the reason they could not be. */
export interface AppliedAdapters {
  resolved: ResolvedAdapters;
  refs: AdapterRef[];
  fallback?: { code: string; reason: string };
}

/** The adapters a request names (or the app's default), loaded; or the base model with the reason. */
export async function adaptersOrFallback(
  s: Services,
  app: App,
  user: string,
  choice: AdapterChoice | undefined,
  styles: StyleWeight[],
  base: string = s.baseModelId,
): Promise<AppliedAdapters> {
  const adapter = choice ?? (await s.settings.of(app.id)).defaults.adapter;
  return loadOrFallBack(s, await s.adapters.resolve(app.id, user, adapter, styles), base);
}

/** The same set without the user's own adapter: what a request held out of personalization runs with. */
export function withoutUserAdapter(resolved: ResolvedAdapters): ResolvedAdapters {
  const styles = resolved.refs.flatMap((ref, i) => (ref.kind === 'user' ? [] : [i]));
  return {
    refs: styles.map((i) => resolved.refs[i] as AdapterRef),
    sources: styles.map((i) => resolved.sources[i] as ResolvedAdapters['sources'][number]),
    user: null,
    styles: resolved.styles,
  };
}

/**
 * Loads resolved adapters into the engine's cache within the configured time, or falls back to the base model
 * with the reason: counted in `tailor_adapter_fallbacks_total`, a package that parsed badly marked bad, any
 * other failure but a timeout reported. No engine at all is not a fallback: it throws (unavailable).
 */
export async function loadOrFallBack(
  s: Services,
  resolved: ResolvedAdapters,
  base: string = s.baseModelId,
): Promise<AppliedAdapters> {
  if (resolved.refs.length === 0) return { resolved, refs: [] };
  // Adapters are trained on one base: never applied to another (the base model answers, with the reason).
  const elsewhere = resolved.refs.find((r) => r.base !== base);
  if (elsewhere) {
    s.adapterFallbacks.inc({ reason: 'other_base' });
    return {
      resolved: { ...resolved, user: null, styles: [], sources: [] },
      refs: [],
      fallback: {
        code: 'other_base',
        reason: `other_base: the adapters are trained on ${elsewhere.base}, not ${base}`,
      },
    };
  }
  try {
    // Loads into the cache of the engine (thread) the set goes to; the generation then finds them there.
    await within(s.engine.prepareAdapters(resolved.refs, { base }), s.config.engine.adapterLoadTimeoutMs);
    return { resolved, refs: resolved.refs };
  } catch (e) {
    if (isEngineUnavailable(e)) throw e; // no engine at all: unavailable, not the base model
    const fallback = fallbackOf(e);
    s.adapterFallbacks.inc({ reason: fallback.code });
    const code = engineCode(e);
    if (code === 'adapter_invalid') await markBad(s, resolved, e as Error, base);
    else if (code !== 'storage_timeout') s.onError?.(e);
    return { resolved: { ...resolved, user: null, styles: [], sources: [] }, refs: [], fallback };
  }
}

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
async function markBad(s: Services, resolved: ResolvedAdapters, error: Error, base: string): Promise<void> {
  // Each alone on the thread the set went to, so what loads is cached where the set is.
  const affinity = adapterSetKey(resolved.refs);
  const suspects =
    resolved.refs.length === 1
      ? [0]
      : (
          await Promise.all(
            resolved.refs.map((ref, i) =>
              s.engine.prepareAdapters([ref], { base, affinity }).then(
                () => -1,
                (e: unknown) => (engineCode(e) === 'adapter_invalid' ? i : -1),
              ),
            ),
          )
        ).filter((i) => i >= 0);
  for (const i of suspects) {
    const source = resolved.sources[i];
    if (!source) continue;
    // When it was the active version, the same transaction wrote the notice other processes drop it on.
    const row = await markAdapterBad(s.db, source.owner, source.version, error.message);
    activeVersionChanged(s, source.owner);
    if (row) s.onError?.(new Error(`adapter ${row.storagePrefix} marked bad: ${error.message}`));
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
  base: string = s.baseModelId,
): Promise<Recalled | undefined> {
  const memory = choice ?? (await s.settings.of(app.id)).defaults.memory;
  if (memory === 'none') return undefined;
  const { contextLength, tokenizer } = s.engine.model(base);
  const budget = Math.min(room(), memoryBudget(s.config.memory.tokens, contextLength));
  return recall(s.db, tokenizer, { appId: app.id, userId: user, query, budget });
}
