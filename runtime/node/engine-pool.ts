// Inference off the HTTP thread: a pool of worker threads, each with its own engine (onnxruntime-web instance,
// model session, adapter cache), so the event loop that answers HTTP never decodes, and every core decodes.
//
// Affinity: requests with the same affinity (by default the key of their adapter set: a user's version, a style
// combination) go to the same thread by rendezvous hashing, so an adapter is loaded into one thread's cache, not
// every thread's; a thread already running `spill` more requests than the least busy one sends the request to
// the least busy instead. Requests without adapters go to the least busy thread. The adapter memory budget is
// split evenly.
//
// Bases: each thread is pinned to the base models it loads at its start (a wasm heap never shrinks: a base lives
// in the threads it was pinned to), and takes only requests for those. Today every thread serves every base.
//
// Messages carry plain data only: adapter references, token ids (the caller tokenized already), and errors as
// codes (engine/errors.ts), thrown again here as the engine would have thrown them.
//
// Failure: a thread that crashes fails its requests with EngineUnavailableError (an `error` event on a stream,
// a 503 otherwise) and is replaced; the replacement loads its models before it takes requests.
import { Worker } from 'node:worker_threads';
import type { Config } from '../../core/config.js';
import type { BlobStore } from '../../core/storage/store.js';
import {
  type AdapterRef,
  adapterSetKey,
  type BaseSpec,
  type Emit,
  EngineError,
  type EngineErrorData,
  type EngineGenerateOptions,
  type EngineMetrics,
  type EngineScoreOptions,
  EngineUnavailableError,
  engineErrorFrom,
  type GenerateResult,
  Generation,
  type InferenceEngine,
  loadModelInfo,
  type ModelInfo,
  type RemoteOptions,
  type ScoreResult,
  type ServingOptions,
  sumEngineMetrics,
  type TextInput,
  type TokenLogprob,
} from '../../engine/index.js';

export interface ThreadSetup {
  storage: Config['storage'];
  /** The base models this thread loads and serves: it is pinned to them. */
  bases: BaseSpec[];
  adapterCacheBytes: number;
  serving?: ServingOptions;
  /** Sessions on onnxruntime-node with this many intra-op threads each; absent: onnxruntime-web. */
  native?: { intraThreads: number };
}

type WireGenerateOptions = Pick<
  EngineGenerateOptions,
  'maxTokens' | 'temperature' | 'topP' | 'topK' | 'seed' | 'stop' | 'logprobs' | 'memory'
>;

export type PoolRequest =
  | {
      t: 'generate';
      id: number;
      base: string;
      prompt: TextInput;
      opts: WireGenerateOptions;
      adapters: AdapterRef[];
      /** Pieces wanted as they come (a stream); otherwise only the result is sent back. */
      stream: boolean;
    }
  | {
      t: 'score';
      id: number;
      base: string;
      texts: TextInput[];
      context?: TextInput;
      memory?: TextInput;
      adapters: AdapterRef[];
    }
  | { t: 'prepare'; id: number; base: string; adapters: AdapterRef[] }
  | { t: 'cancel'; id: number }
  | { t: 'forget'; prefix: string }
  | { t: 'add-base'; id: number; base: BaseSpec };

export type ThreadMessage =
  | { t: 'ready'; metrics: EngineMetrics }
  /** `logprobs` only when the request asked for them: the tokens this text brings (TextPiece). */
  | { t: 'piece'; id: number; text: string; logprobs?: TokenLogprob[] }
  | { t: 'done'; id: number; result: unknown }
  | { t: 'error'; id: number; error: EngineErrorData }
  | { t: 'metrics'; metrics: EngineMetrics };

export interface EnginePoolOptions {
  threads: number;
  store: BlobStore;
  storage: Config['storage'];
  /** The base models to serve (`hash`: their weights' hash as published). */
  bases: readonly BaseSpec[];
  /** Bytes of adapter tensors cached in all threads together. Default 64 MiB. */
  adapterCacheBytes?: number;
  /** Batching, the base-only graph and merged hot users, in each thread (the engine's defaults when absent). */
  serving?: ServingOptions;
  /** The native lane in each thread (runtime/node/native-runtime.ts); absent: onnxruntime-web. */
  native?: { intraThreads: number };
  /** A thread this many requests busier than the least busy one takes no request by affinity. Default 2. */
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
  /** The base models the thread was pinned to. */
  bases: Set<string>;
  worker: Worker;
  ready: boolean;
  pending: Map<number, Pending>;
  metrics: EngineMetrics | null;
}

/** The thread module runs under tsx, which a worker thread must register itself. */
const THREAD_BOOT = `import { register } from 'tsx/esm/api';
register();
await import(${JSON.stringify(new URL('./engine-thread.ts', import.meta.url).href)});`;

/** FNV-1a, for rendezvous hashing of affinities over threads. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** References as a message carries them: the four fields, whatever else the caller's objects hold. */
const plain = (refs: readonly AdapterRef[] | undefined): AdapterRef[] =>
  (refs ?? []).map(({ base, key, kind, weight }) => ({ base, key, kind, weight }));

export class EnginePool implements InferenceEngine {
  private readonly slots: Slot[] = [];
  /** Crashes in a row of each thread before it got ready: its replacement waits longer each time. */
  private readonly failures: number[] = [];
  private nextId = 1;
  private closed = false;
  /** Threads that crashed and were replaced (for /metrics). */
  restarts = 0;

  private constructor(
    private readonly models: ReadonlyMap<string, ModelInfo>,
    private readonly options: EnginePoolOptions,
  ) {}

  /** Starts the threads and waits until each has loaded its models: a load slows decoding elsewhere. */
  static async start(options: EnginePoolOptions): Promise<EnginePool> {
    if (!(options.threads >= 1)) throw new RangeError('an engine pool needs at least one thread');
    if (options.bases.length === 0) throw new RangeError('an engine pool serves at least one base model');
    const infos = await Promise.all(
      options.bases.map(async (b) => ({ ...(await loadModelInfo(options.store, b.prefix)), id: b.id })),
    );
    const pool = new EnginePool(new Map(infos.map((m) => [m.id, m])), options);
    await Promise.all(Array.from({ length: options.threads }, (_, i) => pool.spawn(i)));
    return pool;
  }

  get threads(): number {
    return this.slots.length;
  }

  bases(): ModelInfo[] {
    return [...this.models.values()];
  }

  model(base: string): ModelInfo {
    const m = this.models.get(base);
    if (!m)
      throw new EngineError(
        'unknown_base',
        `base model ${String(base)} is not served here (served: ${[...this.models.keys()].join(', ')})`,
      );
    return m;
  }

  /** The bases thread `index` is pinned to: every base, today (imported ones added as they are first asked for). */
  private pinnedTo(_index: number): BaseSpec[] {
    return [...this.options.bases, ...this.added];
  }

  private readonly added: BaseSpec[] = [];

  /** Loads one more base in every thread (a replacement thread loads it at its start). */
  async addBase(spec: BaseSpec): Promise<void> {
    if (this.models.has(spec.id)) return;
    const info = { ...(await loadModelInfo(this.options.store, spec.prefix)), id: spec.id };
    if (this.models.has(spec.id)) return;
    // Pinned first: a thread spawned from now on (a crashed one's replacement) loads it at its start.
    if (!this.added.some((b) => b.id === spec.id)) this.added.push(spec);
    // The live threads load it now; one that dies meanwhile fails its load, and its replacement has it.
    await Promise.all(
      this.slots
        .filter((slot) => slot.ready)
        .map((slot) =>
          new Promise<unknown>((resolve, reject) => {
            const id = this.nextId++;
            slot.pending.set(id, { kind: 'add-base', resolve, reject });
            slot.worker.postMessage({ t: 'add-base', id, base: spec } satisfies PoolRequest);
          }).then(() => slot.bases.add(spec.id)),
        ),
    ).catch((e) => {
      this.added.splice(
        this.added.findIndex((b) => b.id === spec.id),
        1,
      );
      throw e;
    });
    (this.models as Map<string, ModelInfo>).set(spec.id, info);
  }

  private spawn(index: number): Promise<void> {
    const bases = this.pinnedTo(index);
    const setup: ThreadSetup = {
      storage: this.options.storage,
      bases,
      adapterCacheBytes: Math.floor(
        (this.options.adapterCacheBytes ?? 64 * 1024 * 1024) / this.options.threads,
      ),
      ...(this.options.serving ? { serving: this.options.serving } : {}),
      ...(this.options.native ? { native: this.options.native } : {}),
    };
    const worker = new Worker(THREAD_BOOT, { eval: true, workerData: setup });
    const slot: Slot = {
      index,
      bases: new Set(bases.map((b) => b.id)),
      worker,
      ready: false,
      pending: new Map(),
      metrics: null,
    };
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
        else p.reject(engineErrorFrom(m.error));
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
        this.options.log?.(`[engine] thread ${index} stopped (${why}); a new one starts in ${wait / 1000} s`);
        setTimeout(() => {
          if (!this.closed) this.spawn(index).catch(() => {}); // a failed start is reported by its own exit
        }, wait).unref();
      };
      worker.on('error', (e: Error) => died(e.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
    });
  }

  /** The thread a request for `base` goes to: among those pinned to it, by affinity, unless it is too busy. */
  private pick(base: string, affinity: string | undefined): Slot {
    this.model(base); // unknown_base for a base no thread serves
    const ready = this.slots.filter((s) => s?.ready && s.bases.has(base));
    if (ready.length === 0) throw new EngineUnavailableError('no inference thread is ready; retry');
    const least = Math.min(...ready.map((s) => s.pending.size));
    if (affinity === undefined) return ready.find((s) => s.pending.size === least) as Slot;
    const ranked = ready
      .map((s) => ({ s, h: hash(`${affinity}#${s.index}`) }))
      .sort((a, b) => b.h - a.h)
      .map((x) => x.s);
    const first = ranked[0] as Slot;
    if (first.pending.size - least < (this.options.spill ?? 2)) return first;
    return ranked.find((s) => s.pending.size === least) as Slot;
  }

  private request<T>(
    base: string,
    affinity: string | undefined,
    build: (id: number) => PoolRequest,
    piece?: Emit,
  ) {
    const slot = this.pick(base, affinity);
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

  generate(prompt: TextInput, opts: EngineGenerateOptions & RemoteOptions): Generation {
    const { signal, adapters, affinity, stream, base, ...rest } = opts;
    let cancel: ((reason: unknown) => void) | undefined;
    return new Generation(
      (emit) => {
        const r = this.request<GenerateResult>(
          base,
          affinity ?? adapterSetKey(adapters),
          (id) => ({
            t: 'generate',
            id,
            base,
            prompt,
            opts: rest,
            adapters: plain(adapters),
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

  score(texts: readonly TextInput[], opts: EngineScoreOptions & RemoteOptions): Promise<ScoreResult[]> {
    const { base, adapters } = opts;
    return this.request<ScoreResult[]>(base, opts.affinity ?? adapterSetKey(adapters), (id) => ({
      t: 'score',
      id,
      base,
      texts: [...texts],
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
      adapters: plain(adapters),
    })).result;
  }

  async prepareAdapters(refs: readonly AdapterRef[], opts: { base: string } & RemoteOptions): Promise<void> {
    if (refs.length === 0) return;
    const { base } = opts;
    await this.request(base, opts.affinity ?? adapterSetKey(refs), (id) => ({
      t: 'prepare',
      id,
      base,
      adapters: plain(refs),
    })).result;
  }

  /** Every thread's counters, summed. */
  metrics(): EngineMetrics {
    const all = this.slots.flatMap((s) => (s?.metrics ? [s.metrics] : []));
    return {
      ...sumEngineMetrics(all),
      // Live, not from the threads' last reports: generations a thread is decoding (cancelled ones until it stops).
      generationsActive: this.slots.reduce(
        (n, s) => n + [...(s?.pending.values() ?? [])].filter((p) => p.kind === 'generate').length,
        0,
      ),
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
