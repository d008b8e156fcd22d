// What the HTTP app needs of inference, whoever runs it: the engine in this thread (`Engine`: Workers, tests,
// `ENGINE_THREADS=0`) or a pool of engines in worker threads (`runtime/node/engine-pool.ts`). A `route` names
// what a request's adapters are (a user, a style combination): a pool sends requests with the same route to
// the same thread, so each adapter set is loaded and cached once, not once per thread.
import type { AdapterRef, EngineGenerateOptions, EngineMetrics, EngineScoreOptions } from './engine.js';
import type { Generation } from './generate.js';
import type { ModelInfo } from './model-package.js';
import type { ScoreResult } from './score.js';

export interface Routed {
  route?: string;
  /** false: the caller reads only the result, not the pieces (an engine elsewhere need not send them). */
  stream?: boolean;
}

export interface InferenceEngine {
  readonly model: ModelInfo;
  generate(prompt: string, opts?: EngineGenerateOptions & Routed): Generation;
  score(texts: readonly string[], opts?: EngineScoreOptions & Routed): Promise<ScoreResult[]>;
  /** Loads the adapters (into the cache of the thread the route goes to); throws what loading throws. */
  prepareAdapters(refs: readonly AdapterRef[], opts?: Routed): Promise<void>;
  /** Drops every cached adapter under a storage prefix (an erased user's), in every thread. */
  forgetAdapters(prefix: string): Promise<void>;
  /** A snapshot for /metrics (summed over threads). */
  metrics(): EngineMetrics;
}

/** No engine can take the request now (a thread crashed and its replacement is loading): retry soon. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

/** The route of a set of adapters: the same set (keys and weights) always gives the same route. */
export function adapterRoute(refs: readonly Pick<AdapterRef, 'key' | 'weight'>[]): string | undefined {
  if (refs.length === 0) return undefined;
  return refs.map((r) => `${r.key}*${r.weight ?? 1}`).join('+');
}
