// The inference engine: base model packages (one today; a map by base id, each with its own adapter cache, lanes
// and tokenizer), generation and scoring with any set of weighted adapters. The HTTP layer resolves which
// adapter versions apply (the user's active one, styles) and passes them in as plain references (refs.ts); the
// engine loads each version through its loader (loader.ts) at most once (cache, single-flight).
import type { BlobStore } from '../core/storage/store.js';
import { Fences } from '../core/util/fences.js';
import type { AdapterLimits } from './adapter.js';
import { AdapterCache } from './adapter-cache.js';
import { type Adapter, type Conditioning, compose, conditioningOf, readAdapter } from './conditioning.js';
import { AdapterError, EngineError } from './errors.js';
import {
  type FinishReason,
  type GenerateResult,
  Generation,
  resolveGenerateOptions,
  runGeneration,
} from './generate.js';
import type { EngineGenerateOptions, EngineScoreOptions, InferenceEngine } from './inference.js';
import { Lanes } from './lanes.js';
import { type AdapterLoader, type BaseIdentity, NO_ADAPTERS, StoreAdapterLoader } from './loader.js';
import { type EngineMetrics, sumBatchMetrics, sumCacheMetrics, sumLaneMetrics } from './metrics.js';
import { baseIdOf, loadModelPackage, type ModelPackage } from './model-package.js';
import { type AdapterRef, adapterKey, adapterSetKey, setKeyMentions } from './refs.js';
import { type ScoreResult, scoreTexts } from './score.js';
import type { TextInput } from './text-input.js';

/** A base model to serve: its id (what requests and refs name) and where its package is in storage. */
export interface BaseSpec {
  /** e.g. `brown-4m` */
  id: string;
  /** e.g. `models/brown-4m/` */
  prefix: string;
  /**
   * SHA-256 of its weights, which adapter manifests must name (the runtime knows it from publishing). Default:
   * what the package's marker records, else `EngineOptions.baseHash`, else manifests are not checked.
   */
  hash?: string;
}

export interface EngineOptions {
  /** Where adapter files come from on a cache miss. Default: Engine.load's store; `new Engine`: none. */
  loader?: AdapterLoader;
  /** The weights' hash of a base whose package records none (asked at its first adapter load, until known). */
  baseHash?: (base: string) => Promise<string | undefined>;
  /** Bytes of adapter tensors kept in memory, per base model. Default 64 MiB. */
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

/** What the engine holds for one base model. */
interface Served {
  model: ModelPackage;
  /** Parsed adapters (`adapter:<key>`) and compositions (`compose:…`) for this base. */
  cache: AdapterCache<Cached>;
  lanes: Lanes;
  limits: AdapterLimits;
  /** The base's id and weights' hash, once known. */
  identity?: Promise<BaseIdentity>;
}

const isList = <T>(v: T | readonly T[]): v is readonly T[] => Array.isArray(v);

export class Engine implements InferenceEngine {
  private readonly served = new Map<string, Served>();
  private readonly loader: AdapterLoader;
  private readonly baseHash: ((base: string) => Promise<string | undefined>) | undefined;
  /** Raised by forgetAdapters: loads and generations under way then keep nothing of the erased user. */
  private readonly fences = new Fences();
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

  private readonly options: EngineOptions;
  /** Where `load` found the packages: bases added later come from it too. */
  private store: BlobStore | undefined;

  /** An engine over packages in hand (each base model once), loading adapters through `options.loader`. */
  constructor(models: ModelPackage | readonly ModelPackage[], options: EngineOptions = {}) {
    this.loader = options.loader ?? NO_ADAPTERS;
    this.baseHash = options.baseHash;
    this.options = options;
    for (const model of isList(models) ? models : [models]) this.serve(model);
    if (this.served.size === 0) throw new RangeError('an engine serves at least one base model');
  }

  /**
   * An engine over the packages of `bases` in `store` (a prefix stands for the base named by its last folder),
   * loading adapters from the same store unless `options.loader` says otherwise. A package (ONNX session
   * included) is loaded once per process and shared; each Engine has its own adapter caches, so keep one per
   * process.
   */
  static async load(
    store: BlobStore,
    bases: string | BaseSpec | readonly (string | BaseSpec)[],
    options: EngineOptions = {},
  ): Promise<Engine> {
    const specs = (isList(bases) ? bases : [bases]).map((b) =>
      typeof b === 'string' ? { id: baseIdOf(b), prefix: b } : b,
    );
    const models = await Promise.all(
      specs.map(async (spec) => {
        const pkg = await loadModelPackage(store, spec.prefix);
        const hash = spec.hash ?? pkg.hash;
        return pkg.id === spec.id && hash === pkg.hash ? pkg : { ...pkg, id: spec.id, hash };
      }),
    );
    const engine = new Engine(models, { loader: new StoreAdapterLoader(store), ...options });
    engine.store = store;
    await engine.ready;
    return engine;
  }

  private serve(model: ModelPackage): Served {
    if (this.served.has(model.id)) throw new RangeError(`base model ${model.id} is given twice`);
    this.served.set(model.id, {
      model,
      cache: new AdapterCache(this.options.adapterCacheBytes ?? 64 * 1024 * 1024),
      lanes: new Lanes(model, {
        maxBatch: this.options.maxBatch,
        maxWaitMs: this.options.batchWaitMs,
        baseOnlyGraph: this.options.baseOnlyGraph,
        mergeHot: this.options.mergeHot,
      }),
      limits: {
        maxRank: model.config.tailor.max_lora_rank,
        targets: model.config.tailor.lora_targets,
        ...this.options.adapterLimits,
      },
    });
    return this.served.get(model.id) as Served;
  }

  /**
   * Serves one more base (an imported one, on its first request): its package is loaded from `store` (once per
   * process). A base already served is left as it is.
   */
  async addBase(spec: BaseSpec): Promise<void> {
    if (this.served.has(spec.id)) return;
    if (!this.store) throw new EngineError('unknown_base', `base model ${spec.id} is not served here`);
    const pkg = await loadModelPackage(this.store, spec.prefix);
    if (this.served.has(spec.id)) return;
    const hash = spec.hash ?? pkg.hash;
    await this.serve(pkg.id === spec.id && hash === pkg.hash ? pkg : { ...pkg, id: spec.id, hash }).lanes
      .ready;
  }

  /** Resolves when every session the engine may use is loaded (requests before that are served anyway). */
  get ready(): Promise<void> {
    return Promise.all([...this.served.values()].map((s) => s.lanes.ready)).then(() => {});
  }

  bases(): ModelPackage[] {
    return [...this.served.values()].map((s) => s.model);
  }

  model(base: string): ModelPackage {
    return this.servedOn(base).model;
  }

  /** Starts generating; iterate the result for text pieces, or await `.result`. */
  generate(prompt: TextInput, opts: EngineGenerateOptions): Generation {
    const t0 = performance.now();
    const served = this.servedOn(opts.base);
    const stopper = new AbortController();
    const settings = resolveGenerateOptions({
      ...opts,
      signal: opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal,
    });
    this.counts.generationsStarted++;
    this.counts.generationsActive++;
    const mark = this.fences.mark();
    const gen = new Generation(
      async (emit) => {
        try {
          const conditioning = await this.resolveOn(served, opts.adapters);
          const key = adapterSetKey(opts.adapters);
          const choice = served.lanes.pick(key, conditioning);
          const r: GenerateResult = await served.lanes.use(choice, (lane) =>
            runGeneration(lane.pkg, lane.batcher, prompt, settings, choice.conditioning, emit, t0),
          );
          // A set erased while this decoded gains no heat (nor a merged session) from it.
          if (key === undefined || !this.fences.crossed(key, mark))
            served.lanes.record(key, conditioning, r.promptTokens + r.completionTokens);
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

  async prepareAdapters(refs: readonly AdapterRef[], opts: { base: string }): Promise<void> {
    await this.resolveAdapters(refs, opts.base);
  }

  /** Negative log-likelihood of each text after `context`, under the base model plus `adapters`. */
  async score(texts: readonly TextInput[], opts: EngineScoreOptions): Promise<ScoreResult[]> {
    this.counts.scoreRequests++;
    const served = this.servedOn(opts.base);
    const conditioning = await this.resolveOn(served, opts.adapters);
    const choice = served.lanes.pick(adapterSetKey(opts.adapters), conditioning);
    const results = await served.lanes.use(choice, (lane) =>
      scoreTexts(lane.pkg, texts, {
        context: opts.context,
        memory: opts.memory,
        conditioning: choice.conditioning,
      }),
    );
    this.counts.scoredTexts += results.length;
    this.counts.scoredTokens += results.reduce((s, r) => s + r.tokens, 0);
    return results;
  }

  /** The decoder inputs for a set of adapters on `base` (undefined = the base model alone), cached. */
  async resolveAdapters(
    refs: readonly AdapterRef[] | undefined,
    base: string,
  ): Promise<Conditioning | undefined> {
    return this.resolveOn(this.servedOn(base), refs);
  }

  private servedOn(base: string): Served {
    const served = this.served.get(base);
    if (!served)
      throw new EngineError(
        'unknown_base',
        `base model ${String(base)} is not served here (served: ${[...this.served.keys()].join(', ')})`,
      );
    return served;
  }

  /**
   * One adapter at weight 1 is its own entry; any other combination is cached as a composed entry keyed by
   * its keys and weights (refs.ts adapterSetKey).
   */
  private async resolveOn(
    served: Served,
    refs: readonly AdapterRef[] | undefined,
  ): Promise<Conditioning | undefined> {
    if (!refs || refs.length === 0) return undefined;
    for (const r of refs) {
      if (typeof r.key !== 'string' || r.key.length === 0)
        throw new AdapterError('adapter key must be non-empty');
      if (!Number.isFinite(r.weight))
        throw new AdapterError(`adapter ${r.key}: weight ${r.weight} is not finite`);
      if (r.base !== served.model.id)
        throw new EngineError(
          'unknown_base',
          `adapter ${r.key} was made for base model ${String(r.base)}; this request runs on ${served.model.id}`,
        );
    }
    const key = adapterSetKey(refs) as string;
    if (key === adapterKey(refs[0] as AdapterRef))
      return conditioningOf(await this.adapter(served, refs[0] as AdapterRef));
    const mark = this.fences.mark();
    const { model, limits } = served;
    return (await served.cache.get(
      key,
      async () => {
        const parts = await Promise.all(
          refs.map(async (r) => ({ adapter: await this.adapter(served, r), weight: r.weight })),
        );
        return compose(model.shape, parts, limits, model.contextLength);
      },
      () => !this.fences.crossed(key, mark),
    )) as Conditioning;
  }

  private async adapter(served: Served, ref: AdapterRef): Promise<Adapter> {
    const key = adapterKey(ref);
    const mark = this.fences.mark();
    const { model, limits } = served;
    const v = await served.cache.get(
      key,
      async () => {
        const files = await this.loader.load(ref, await this.identity(served));
        if (!(files?.config instanceof Uint8Array) || !(files.weights instanceof Uint8Array))
          throw new AdapterError(`adapter ${ref.key}: the loader must give { config, weights } bytes`);
        try {
          return readAdapter(files, model.shape, limits, model.contextLength);
        } catch (e) {
          if (e instanceof AdapterError) throw new AdapterError(`adapter ${ref.key}: ${e.message}`);
          throw e;
        }
      },
      () => !this.fences.crossed(key, mark),
    );
    return v as Adapter;
  }

  /** The base's id and weights' hash: the package's, else asked of `baseHash` (again after a failure). */
  private identity(served: Served): Promise<BaseIdentity> {
    const { id, hash } = served.model;
    if (hash || !this.baseHash) return Promise.resolve(hash ? { id, hash } : { id });
    if (!served.identity) {
      const asked = this.baseHash(id).then((h) => (h ? { id, hash: h } : { id }));
      served.identity = asked;
      asked.catch(() => {
        if (served.identity === asked) served.identity = undefined;
      });
    }
    return served.identity;
  }

  /**
   * Forgets every cached adapter whose key starts with `prefix` (keys are storage prefixes), and every
   * composition that used one, on every base: after an erasure nothing of the user stays in memory.
   */
  async forgetAdapters(prefix: string): Promise<void> {
    const matches = (k: string) => setKeyMentions(k, prefix);
    this.fences.raise(matches);
    for (const served of this.served.values()) {
      served.cache.deleteWhere(matches);
      served.lanes.forget(matches);
    }
  }

  /** A plain snapshot for /metrics: the counters, and the caches and lanes of every base added up. */
  metrics(): EngineMetrics {
    const all = [...this.served.values()];
    return {
      ...this.counts,
      finishReasons: { ...this.finishReasons },
      adapterCache: sumCacheMetrics(all.map((s) => s.cache.metrics())),
      batching: sumBatchMetrics(all.map((s) => s.lanes.batching())),
      lanes: sumLaneMetrics(all.map((s) => s.lanes.metrics())),
    };
  }
}
