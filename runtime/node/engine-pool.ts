// Inference off the HTTP thread: a pool of worker threads, each with its own engine (onnxruntime-web instance,
// model session, adapter cache), so the event loop that answers HTTP never decodes, and every core decodes.
//
// Routing: requests with the same route (the same adapter set: a user's version, a style combination) go to the
// same thread by rendezvous hashing, so an adapter is loaded into one thread's cache, not every thread's; a
// thread already running `spill` more requests than the least busy one sends the request to the least busy
// instead. Requests without adapters go to the least busy thread. The adapter memory budget is split evenly.
//
// Failure: a thread that crashes fails its requests with EngineUnavailableError (an `error` event on a stream,
// a 503 otherwise) and is replaced; the replacement loads its model before it takes requests.
import { Worker } from 'node:worker_threads';
import type { Config } from '../../core/config.js';
import type { BlobStore } from '../../core/storage/store.js';
import type {
  AdapterRef,
  EngineGenerateOptions,
  EngineMetrics,
  EngineScoreOptions,
  ServingOptions,
} from '../../engine/engine.js';
import { type Emit, type GenerateResult, Generation } from '../../engine/generate.js';
import {
  EngineUnavailableError,
  type InferenceEngine,
  type Routed,
} from '../../engine/inference.js';
import type { TokenLogprob } from '../../engine/logprobs.js';
import { loadModelInfo, type ModelInfo } from '../../engine/model-package.js';
import type { ScoreResult } from '../../engine/score.js';

export interface ThreadSetup {
  storage: Config['storage'];
  modelPrefix: string;
  adapterCacheBytes: number;
  serving?: ServingOptions;
}

export interface WireAdapter {
  key: string;
  prefix: string;
  weight: number;
  baseModel?: { id: string; hash: string };
}

type WireGenerateOptions = Pick<
  EngineGenerateOptions,
  'maxTokens' | 'temperature' | 'topP' | 'topK' | 'seed' | 'stop' | 'logprobs' | 'memory'
>;

export type PoolRequest =
  | {
      t: 'generate';
      id: number;
      prompt: string;
      opts: WireGenerateOptions;
      adapters: WireAdapter[];
      /** Pieces wanted as they come (a stream); otherwise only the result is sent back. */
      stream: boolean;
    }
  | { t: 'score'; id: number; texts: string[]; context?: string; memory?: string; adapters: WireAdapter[] }
  | { t: 'prepare'; id: number; adapters: WireAdapter[] }
  | { t: 'cancel'; id: number }
  | { t: 'forget'; prefix: string };

export type ThreadMessage =
  | { t: 'ready'; metrics: EngineMetrics }
  /** `logprobs` only when the request asked for them: the tokens this text brings (TextPiece). */
  | { t: 'piece'; id: number; text: string; logprobs?: TokenLogprob[] }
  | { t: 'done'; id: number; result: unknown }
  | { t: 'error'; id: number; error: { name: string; message: string } }
  | { t: 'metrics'; metrics: EngineMetrics };

export interface EnginePoolOptions {
  threads: number;
  store: BlobStore;
  storage: Config['storage'];
  modelPrefix: string;
  /** Bytes of adapter tensors cached in all threads together. Default 64 MiB. */
  adapterCacheBytes?: number;
  /** Batching, the base-only graph and merged hot users, in each thread (the engine's defaults when absent). */
  serving?: ServingOptions;
  /** A thread this many requests busier than the least busy one takes no routed request. Default 2. */
  spill?: number;
  log?: (line: string) => void;
}

interface Pending {
  kind: PoolRequest['t'];
  piece?: Emit;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** The caller has its answer (an abort); the thread has not confirmed it stopped yet. */
  cancelled?: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  pending: Map<number, Pending>;
  metrics: EngineMetrics | null;
}

/** The thread module runs under tsx, which a worker thread must register itself. */
const THREAD_BOOT = `import { register } from 'tsx/esm/api';
register();
await import(${JSON.stringify(new URL('./engine-thread.ts', import.meta.url).href)});`;

/** FNV-1a, for rendezvous hashing of routes over threads. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** An error a thread reported, as the type the HTTP layer maps (RangeError: 422, AbortError, names for metrics). */
function revive(e: { name: string; message: string }): Error {
  if (e.name === 'RangeError') return new RangeError(e.message);
  if (e.name === 'AbortError') return new DOMException(e.message, 'AbortError') as unknown as Error;
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

const wire = (refs: readonly AdapterRef[] | undefined): WireAdapter[] =>
  (refs ?? []).map((r) => ({
    key: r.key,
    prefix: r.prefix ?? r.key,
    weight: r.weight ?? 1,
    ...(r.baseModel ? { baseModel: r.baseModel } : {}),
  }));

export class EnginePool implements InferenceEngine {
  private readonly slots: Slot[] = [];
  /** Crashes in a row of each thread before it got ready: its replacement waits longer each time. */
  private readonly failures: number[] = [];
  private nextId = 1;
  private closed = false;
  /** Threads that crashed and were replaced (for /metrics). */
  restarts = 0;

  private constructor(
    readonly model: ModelInfo,
    private readonly o: EnginePoolOptions,
  ) {}

  /** Starts the threads and waits until each has loaded the model: a load slows decoding elsewhere. */
  static async start(o: EnginePoolOptions): Promise<EnginePool> {
    if (!(o.threads >= 1)) throw new RangeError('an engine pool needs at least one thread');
    const pool = new EnginePool(await loadModelInfo(o.store, o.modelPrefix), o);
    await Promise.all(Array.from({ length: o.threads }, (_, i) => pool.spawn(i)));
    return pool;
  }

  get threads(): number {
    return this.slots.length;
  }

  private spawn(index: number): Promise<void> {
    const setup: ThreadSetup = {
      storage: this.o.storage,
      modelPrefix: this.o.modelPrefix,
      adapterCacheBytes: Math.floor((this.o.adapterCacheBytes ?? 64 * 1024 * 1024) / this.o.threads),
      ...(this.o.serving ? { serving: this.o.serving } : {}),
    };
    const worker = new Worker(THREAD_BOOT, { eval: true, workerData: setup });
    const slot: Slot = { index, worker, ready: false, pending: new Map(), metrics: null };
    this.slots[index] = slot;
    return new Promise((resolve, reject) => {
      worker.on('message', (m: ThreadMessage) => {
        if (m.t === 'ready') {
          slot.ready = true;
          slot.metrics = m.metrics;
          this.failures[index] = 0;
          resolve();
          return;
        }
        if (m.t === 'metrics') {
          slot.metrics = m.metrics;
          return;
        }
        const p = slot.pending.get(m.id);
        if (!p) return;
        if (m.t === 'piece') {
          if (!p.cancelled) p.piece?.(m.text, m.logprobs);
          return;
        }
        slot.pending.delete(m.id); // the thread is done with it: a cancelled request stops counting here
        if (p.cancelled) return;
        if (m.t === 'done') p.resolve(m.result);
        else p.reject(revive(m.error));
      });
      const died = (why: string) => {
        if (this.slots[index] !== slot) return;
        slot.ready = false;
        const err = new EngineUnavailableError(`an inference thread stopped (${why}); retry`);
        for (const p of slot.pending.values()) if (!p.cancelled) p.reject(err);
        slot.pending.clear();
        reject(err);
        if (this.closed) return;
        this.restarts++;
        const tries = slot.ready || !this.failures[index] ? 0 : this.failures[index];
        this.failures[index] = tries + 1;
        const wait = Math.min(30_000, tries === 0 ? 0 : 1000 * 2 ** (tries - 1));
        this.o.log?.(`[engine] thread ${index} stopped (${why}); a new one starts in ${wait / 1000} s`);
        setTimeout(() => {
          if (!this.closed) this.spawn(index).catch(() => {}); // a failed start is reported by its own exit
        }, wait).unref();
      };
      worker.on('error', (e: Error) => died(e.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
    });
  }

  /** The thread a request goes to. */
  private pick(route: string | undefined): Slot {
    const ready = this.slots.filter((s) => s?.ready);
    if (ready.length === 0) throw new EngineUnavailableError('no inference thread is ready; retry');
    const least = Math.min(...ready.map((s) => s.pending.size));
    if (route === undefined) return ready.find((s) => s.pending.size === least) as Slot;
    const ranked = ready
      .map((s) => ({ s, h: hash(`${route}#${s.index}`) }))
      .sort((a, b) => b.h - a.h)
      .map((x) => x.s);
    const first = ranked[0] as Slot;
    if (first.pending.size - least < (this.o.spill ?? 2)) return first;
    return ranked.find((s) => s.pending.size === least) as Slot;
  }

  private request<T>(route: string | undefined, build: (id: number) => PoolRequest, piece?: Emit) {
    const slot = this.pick(route);
    const id = this.nextId++;
    const message = build(id);
    const result = new Promise<T>((resolve, reject) => {
      slot.pending.set(id, {
        kind: message.t,
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(piece ? { piece } : {}),
      });
    });
    slot.worker.postMessage(message);
    const cancel = (reason: unknown) => {
      const p = slot.pending.get(id);
      if (!p || p.cancelled) return;
      p.cancelled = true;
      slot.worker.postMessage({ t: 'cancel', id } satisfies PoolRequest);
      p.reject(reason);
    };
    return { result, cancel };
  }

  generate(prompt: string, opts: EngineGenerateOptions & Routed = {}): Generation {
    const { signal, adapters, route, stream, ...rest } = opts;
    let cancel: ((reason: unknown) => void) | undefined;
    return new Generation(
      (emit) => {
        const r = this.request<GenerateResult>(
          route,
          (id) => ({
            t: 'generate',
            id,
            prompt,
            opts: rest,
            adapters: wire(adapters),
            stream: stream ?? true,
          }),
          emit,
        );
        cancel = r.cancel;
        if (signal?.aborted) r.cancel(signal.reason);
        signal?.addEventListener('abort', () => r.cancel(signal.reason), { once: true });
        return r.result;
      },
      () => cancel?.(new DOMException('the reader stopped reading', 'AbortError')),
    );
  }

  score(texts: readonly string[], opts: EngineScoreOptions & Routed = {}): Promise<ScoreResult[]> {
    return this.request<ScoreResult[]>(opts.route, (id) => ({
      t: 'score',
      id,
      texts: [...texts],
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
      adapters: wire(opts.adapters),
    })).result;
  }

  async prepareAdapters(refs: readonly AdapterRef[], opts: Routed = {}): Promise<void> {
    if (refs.length === 0) return;
    await this.request(opts.route, (id) => ({ t: 'prepare', id, adapters: wire(refs) })).result;
  }

  /** Every thread's counters, summed. */
  metrics(): EngineMetrics {
    const all = this.slots.flatMap((s) => (s?.metrics ? [s.metrics] : []));
    const sum = (f: (m: EngineMetrics) => number) => all.reduce((n, m) => n + f(m), 0);
    const buckets: Record<string, number> = {};
    for (const m of all) {
      for (const [le, n] of Object.entries(m.adapterCache.loadSeconds.buckets))
        buckets[le] = (buckets[le] ?? 0) + n;
    }
    const c = (k: keyof Omit<EngineMetrics['adapterCache'], 'loadSeconds'>) => sum((m) => m.adapterCache[k]);
    return {
      generationsStarted: sum((m) => m.generationsStarted),
      generationsFailed: sum((m) => m.generationsFailed),
      // Live, not from the threads' last reports: generations a thread is decoding (cancelled ones until it stops).
      generationsActive: this.slots.reduce(
        (n, s) => n + [...(s?.pending.values() ?? [])].filter((p) => p.kind === 'generate').length,
        0,
      ),
      finishReasons: {
        stop: sum((m) => m.finishReasons.stop),
        length: sum((m) => m.finishReasons.length),
        eos: sum((m) => m.finishReasons.eos),
      },
      promptTokens: sum((m) => m.promptTokens),
      completionTokens: sum((m) => m.completionTokens),
      scoreRequests: sum((m) => m.scoreRequests),
      scoredTexts: sum((m) => m.scoredTexts),
      scoredTokens: sum((m) => m.scoredTokens),
      adapterCache: {
        hits: c('hits'),
        misses: c('misses'),
        loads: c('loads'),
        loadErrors: c('loadErrors'),
        evictions: c('evictions'),
        oversize: c('oversize'),
        fenced: c('fenced'),
        entries: c('entries'),
        bytes: c('bytes'),
        maxBytes: c('maxBytes'),
        loadSeconds: {
          buckets,
          sum: sum((m) => m.adapterCache.loadSeconds.sum),
          count: sum((m) => m.adapterCache.loadSeconds.count),
        },
      },
      batching: {
        maxBatch: Math.max(0, ...all.map((m) => m.batching.maxBatch)),
        runs: sum((m) => m.batching.runs),
        rows: sum((m) => m.batching.rows),
        ghostRows: sum((m) => m.batching.ghostRows),
        regroups: sum((m) => m.batching.regroups),
        active: sum((m) => m.batching.active),
      },
      lanes: {
        baseOnlyGraph: all.length > 0 && all.every((m) => m.lanes.baseOnlyGraph),
        merged: sum((m) => m.lanes.merged),
        merges: sum((m) => m.lanes.merges),
        mergeEvictions: sum((m) => m.lanes.mergeEvictions),
        mergedRequests: sum((m) => m.lanes.mergedRequests),
      },
    };
  }

  /** Threads that are taking requests (a replacement is not, until it has loaded its model). */
  readyThreads(): number {
    return this.slots.filter((s) => s?.ready).length;
  }

  /** Requests in flight per thread (for tests and benchmarks). */
  load(): number[] {
    return this.slots.map((s) => s?.pending.size ?? 0);
  }

  /** Ends a thread abruptly, as a crash would (tests). */
  async crash(index: number): Promise<void> {
    await this.slots[index]?.worker.terminate();
  }

  /** Every thread drops what it caches under `prefix` (posted in order: before any later request of theirs). */
  async forgetAdapters(prefix: string): Promise<void> {
    for (const slot of this.slots) slot?.worker.postMessage({ t: 'forget', prefix } satisfies PoolRequest);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
  }
}
