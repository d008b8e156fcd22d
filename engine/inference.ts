// What the HTTP app needs of inference, whoever runs it: the engine in this thread (`Engine`: Workers, tests,
// `ENGINE_THREADS=0`) or a pool of engines in worker threads (`runtime/node/engine-pool.ts`). Every call names
// the base model it runs on; adapter references name theirs, and a reference for another base is refused.
import type { GenerateOptions, Generation } from './generate.js';
import type { EngineMetrics } from './metrics.js';
import type { ModelInfo } from './model-package.js';
import type { AdapterRef } from './refs.js';
import type { ScoreResult } from './score.js';
import type { TextInput } from './text-input.js';

export interface EngineGenerateOptions extends GenerateOptions {
  /** The base model to run, e.g. `brown-4m` (one of `bases()`). */
  base: string;
  adapters?: readonly AdapterRef[];
}

export interface EngineScoreOptions {
  base: string;
  context?: TextInput;
  memory?: TextInput;
  adapters?: readonly AdapterRef[];
}

/** What only an engine elsewhere (a pool of threads) uses. */
export interface RemoteOptions {
  /**
   * Which thread: requests with the same affinity go to the same thread, so what it loads is cached once.
   * Default: the key of the request's adapter set (refs.ts adapterSetKey); none (no adapters) goes to the
   * least busy thread.
   */
  affinity?: string;
  /** false: the caller reads only the result, not the pieces (an engine elsewhere need not send them). */
  stream?: boolean;
}

export interface InferenceEngine {
  /** The base models served, each with its tokenizer and context length. */
  bases(): ModelInfo[];
  /** One served base model (an EngineError `unknown_base` for any other). */
  model(base: string): ModelInfo;
  generate(prompt: TextInput, opts: EngineGenerateOptions & RemoteOptions): Generation;
  score(texts: readonly TextInput[], opts: EngineScoreOptions & RemoteOptions): Promise<ScoreResult[]>;
  /** Loads the adapters into the cache (of the thread the affinity goes to); throws what loading throws. */
  prepareAdapters(refs: readonly AdapterRef[], opts: { base: string } & RemoteOptions): Promise<void>;
  /** Serves one more base model (an imported one): loads its package, in every thread. */
  addBase(spec: { id: string; prefix: string; hash?: string }): Promise<void>;
  /** Drops every cached adapter under a storage prefix (an erased user's), in every thread. */
  forgetAdapters(prefix: string): Promise<void>;
  /** A snapshot for /metrics (summed over bases and threads). */
  metrics(): EngineMetrics;
}
