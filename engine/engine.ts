// The inference engine: one base model package, an adapter cache, generation and scoring with any set of
// weighted adapters. The HTTP layer resolves which adapter versions apply (the user's active one, styles)
// and passes them in as AdapterRefs; the engine loads each version at most once (cache, single-flight).
import type { BlobStore } from '../core/storage/store.js';
import { AdapterError, type AdapterFiles, type AdapterLimits } from './adapter.js';
import { AdapterCache, type CacheMetrics } from './adapter-cache.js';
import type { BatchMetrics } from './batch.js';
import { type Adapter, type Conditioning, compose, conditioningOf, readAdapter } from './conditioning.js';
import { Fences } from '../core/util/fences.js';
import {
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  Generation,
  resolveGenerateOptions,
  runGeneration,
} from './generate.js';
import type { InferenceEngine } from './inference.js';
import { type LaneMetrics, Lanes } from './lanes.js';
import { loadModelPackage, type ModelPackage } from './model-package.js';
import { type ScoreResult, scoreTexts } from './score.js';

/** One adapter version to apply. */
export interface AdapterRef {
  /** Immutable cache key of the version, e.g. its storage prefix `adapters/app/user/v3/`. */
  key: string;
  /** Fetches the version's files; called only on a cache miss. */
  load: () => Promise<AdapterFiles>;
  /** Where its files are in storage: an engine in another thread loads them from there itself. */
  prefix?: string;
  /** The base model its package must name (manifest id and hash), checked by whoever loads the files. */
  baseModel?: { id: string; hash: string };
  /** Multiplies the adapter's update. Default 1. */
  weight?: number;
}

export interface EngineOptions {
  /** Bytes of adapter tensors kept in memory. Default 64 MiB. */
  adapterCacheBytes?: number;
  /** Adapter size limits; defaults come from the base config. */
  adapterLimits?: Partial<AdapterLimits>;
  /** Generations decoded together in one run at most (batch.ts). Default 16; 1 = each alone. */
  maxBatch?: number;
  /** How long a request may wait for others to start a batch when nothing decodes (batch.ts). Default 0. */
  batchWaitMs?: number;
  /**
   * Requests without a LoRA run the graph without LoRA inputs, derived at load (lanes.ts): a second session,
   * the weights again in memory (~20 MB). Default true.
   */
  baseOnlyGraph?: boolean;
  /** Most-served adapter sets merged into sessions of their own, at most (lanes.ts). Default 0: off. */
  mergeHot?: number;
}

export interface EngineGenerateOptions extends GenerateOptions {
  adapters?: readonly AdapterRef[];
}

export interface EngineScoreOptions {
  context?: string;
  memory?: string;
  adapters?: readonly AdapterRef[];
}

export interface EngineMetrics {
  generationsStarted: number;
  generationsFailed: number;
  generationsActive: number;
  finishReasons: Record<FinishReason, number>;
  promptTokens: number;
  completionTokens: number;
  scoreRequests: number;
  scoredTexts: number;
  scoredTokens: number;
  adapterCache: CacheMetrics;
  batching: BatchMetrics;
  lanes: LaneMetrics;
}

/** What an engine's settings (TAILOR_MAX_BATCH, TAILOR_BASE_ONLY_GRAPH, TAILOR_MERGE_HOT) decide. */
export type ServingOptions = Pick<EngineOptions, 'maxBatch' | 'batchWaitMs' | 'baseOnlyGraph' | 'mergeHot'>;

export function servingOptions(c: {
  maxBatch: number;
  batchWaitMs: number;
  baseOnlyGraph: boolean;
  mergeHot: number;
}): ServingOptions {
  const { maxBatch, batchWaitMs, baseOnlyGraph, mergeHot } = c;
  return { maxBatch, batchWaitMs, baseOnlyGraph, mergeHot };
}

type Cached = Adapter | Conditioning;

/**
 * The cache key of a set of adapters: `adapter:<key>` for one at weight 1 (its parsed entry), else
 * `compose:[[key, weight], …]`; undefined for none.
 */
function adapterSetKey(refs: readonly AdapterRef[] | undefined): string | undefined {
  if (!refs || refs.length === 0) return undefined;
  const only = refs[0] as AdapterRef;
  if (refs.length === 1 && (only.weight ?? 1) === 1) return `adapter:${only.key}`;
  return `compose:${JSON.stringify(refs.map((r) => [r.key, r.weight ?? 1]))}`;
}

export class Engine implements InferenceEngine {
  private readonly cache: AdapterCache<Cached>;
  /** Raised by forgetAdapters: loads and generations under way then keep nothing of the erased user. */
  private readonly fences = new Fences();
  private readonly limits: AdapterLimits;
  private readonly lanes: Lanes;
  private readonly counts = {
    generationsStarted: 0,
    generationsFailed: 0,
    generationsActive: 0,
    promptTokens: 0,
    completionTokens: 0,
    scoreRequests: 0,
    scoredTexts: 0,
    scoredTokens: 0,
  };
  private readonly finishReasons: Record<FinishReason, number> = { stop: 0, length: 0, eos: 0 };

  constructor(
    readonly model: ModelPackage,
    opts: EngineOptions = {},
  ) {
    this.cache = new AdapterCache(opts.adapterCacheBytes ?? 64 * 1024 * 1024);
    this.lanes = new Lanes(model, {
      maxBatch: opts.maxBatch,
      maxWaitMs: opts.batchWaitMs,
      baseOnlyGraph: opts.baseOnlyGraph,
      mergeHot: opts.mergeHot,
    });
    this.limits = {
      maxRank: model.config.tailor.max_lora_rank,
      targets: model.config.tailor.lora_targets,
      ...opts.adapterLimits,
    };
  }

  /**
   * An engine over the package under `prefix` in `store`. The package (ONNX session included) is loaded
   * once per process and shared; each Engine has its own adapter cache, so keep one per process.
   */
  static async load(store: BlobStore, prefix: string, opts: EngineOptions = {}): Promise<Engine> {
    const engine = new Engine(await loadModelPackage(store, prefix), opts);
    await engine.ready;
    return engine;
  }

  /** Resolves when every session the engine may use is loaded (requests before that are served anyway). */
  get ready(): Promise<void> {
    return this.lanes.ready;
  }

  /** Starts generating; iterate the result for text pieces, or await `.result`. */
  generate(prompt: string, opts: EngineGenerateOptions = {}): Generation {
    const t0 = performance.now();
    const stopper = new AbortController();
    const o = resolveGenerateOptions({
      ...opts,
      signal: opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal,
    });
    this.counts.generationsStarted++;
    this.counts.generationsActive++;
    const mark = this.fences.mark();
    const gen = new Generation(
      async (emit) => {
        try {
          const conditioning = await this.resolveAdapters(opts.adapters);
          const key = adapterSetKey(opts.adapters);
          const route = this.lanes.pick(key, conditioning);
          const r: GenerateResult = await this.lanes.use(route, (lane) =>
            runGeneration(lane.pkg, lane.batcher, prompt, o, route.conditioning, emit, t0),
          );
          // A set erased while this decoded gains no heat (nor a merged session) from it.
          if (key === undefined || !this.fences.crossed(key, mark))
            this.lanes.record(key, conditioning, r.promptTokens + r.completionTokens);
          this.counts.promptTokens += r.promptTokens;
          this.counts.completionTokens += r.completionTokens;
          this.finishReasons[r.finishReason]++;
          return r;
        } catch (e) {
          this.counts.generationsFailed++;
          throw e;
        } finally {
          this.counts.generationsActive--;
        }
      },
      () => stopper.abort(new DOMException('the reader stopped reading', 'AbortError')),
    );
    gen.result.catch(() => {}); // the caller may only iterate: the error reaches it there
    return gen;
  }

  async prepareAdapters(refs: readonly AdapterRef[]): Promise<void> {
    await this.resolveAdapters(refs);
  }

  /** Negative log-likelihood of each text after `context`, under the base model plus `adapters`. */
  async score(texts: readonly string[], opts: EngineScoreOptions = {}): Promise<ScoreResult[]> {
    this.counts.scoreRequests++;
    const conditioning = await this.resolveAdapters(opts.adapters);
    const route = this.lanes.pick(adapterSetKey(opts.adapters), conditioning);
    const results = await this.lanes.use(route, (lane) =>
      scoreTexts(lane.pkg, texts, {
        context: opts.context,
        memory: opts.memory,
        conditioning: route.conditioning,
      }),
    );
    this.counts.scoredTexts += results.length;
    this.counts.scoredTokens += results.reduce((s, r) => s + r.tokens, 0);
    return results;
  }

  /**
   * The decoder inputs for a set of adapters (undefined = base model), cached: one adapter at weight 1 is
   * its own entry; any other combination is cached as a composed entry keyed by its keys and weights.
   */
  async resolveAdapters(refs: readonly AdapterRef[] | undefined): Promise<Conditioning | undefined> {
    if (!refs || refs.length === 0) return undefined;
    for (const r of refs) {
      if (typeof r.key !== 'string' || r.key.length === 0)
        throw new AdapterError('adapter key must be non-empty');
      if (r.weight !== undefined && !Number.isFinite(r.weight))
        throw new AdapterError(`adapter ${r.key}: weight ${r.weight} is not finite`);
    }
    const only = refs[0] as AdapterRef;
    if (refs.length === 1 && (only.weight ?? 1) === 1) return conditioningOf(await this.adapter(only));
    const key = adapterSetKey(refs) as string;
    const mark = this.fences.mark();
    return (await this.cache.get(
      key,
      async () => {
        const parts = await Promise.all(
          refs.map(async (r) => ({ adapter: await this.adapter(r), weight: r.weight ?? 1 })),
        );
        return compose(this.model.shape, parts, this.limits, this.model.contextLength);
      },
      () => !this.fences.crossed(key, mark),
    )) as Conditioning;
  }

  private async adapter(ref: AdapterRef): Promise<Adapter> {
    const key = `adapter:${ref.key}`;
    const mark = this.fences.mark();
    const v = await this.cache.get(
      key,
      async () => {
        const files = await ref.load();
        if (!(files?.config instanceof Uint8Array) || !(files.weights instanceof Uint8Array))
          throw new AdapterError(`adapter ${ref.key}: load() must give { config, weights } bytes`);
        try {
          return readAdapter(files, this.model.shape, this.limits, this.model.contextLength);
        } catch (e) {
          if (e instanceof AdapterError) throw new AdapterError(`adapter ${ref.key}: ${e.message}`);
          throw e;
        }
      },
      () => !this.fences.crossed(key, mark),
    );
    return v as Adapter;
  }

  /**
   * Forgets every cached adapter whose key starts with `prefix` (keys are storage prefixes), and every
   * composition that used one: after an erasure nothing of the user stays in memory.
   */
  async forgetAdapters(prefix: string): Promise<void> {
    const matches = (k: string) =>
      k.startsWith(`adapter:${prefix}`) ||
      (k.startsWith('compose:') &&
        (JSON.parse(k.slice(8)) as [string, number][]).some(([key]) => key.startsWith(prefix)));
    this.fences.raise(matches);
    this.cache.deleteWhere(matches);
    this.lanes.forget(matches);
  }

  /** A plain snapshot for /metrics. */
  metrics(): EngineMetrics {
    return {
      ...this.counts,
      finishReasons: { ...this.finishReasons },
      adapterCache: this.cache.metrics(),
      batching: this.lanes.batching(),
      lanes: this.lanes.metrics(),
    };
  }
}
