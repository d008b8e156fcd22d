// Which session a request decodes on — its lane — each lane with its own batcher:
// - the shipped LoRA graph, for requests with a LoRA (each row its own adapter);
// - the same graph without LoRA inputs (derived at load, onnx-graph.ts), for requests without one: no
//   rank-0 inputs to feed, no LoRA nodes to run;
// - with `mergeHot` > 0, a session of its own for each of the most-served adapter sets, its LoRA merged into
//   the weights (W + B·A): that user decodes at the base graph's speed. A merge costs a session (the weights
//   again, ~20 MB of wasm heap) and ~0.5 s of CPU, so only sets that keep being served get one; the coldest
//   gives its place up when a set twice as hot comes along. Merged weights agree with the LoRA path to
//   float rounding (≤ 1e-4 on logits), not bit for bit: an operator's choice, off by default.
import { Batcher, type BatchMetrics } from './batch.js';
import type { Conditioning } from './conditioning.js';
import { Decoder, type DecoderLike } from './decoder.js';
import type { ModelPackage } from './model-package.js';
import { baseOnlyGraph, type LoraDelta, mergeLora } from './onnx-graph.js';

export interface Lane {
  /** The package as this lane runs it (its decoder). */
  pkg: ModelPackage;
  batcher: Batcher;
  /** Requests on it now (a retired lane's session is released when none are left). */
  users: number;
}

/** The lane chosen for a request and what it feeds there (a merged lane has the LoRA in its weights already). */
export interface LaneChoice {
  lane: Lane;
  conditioning: Conditioning | undefined;
}

export interface LaneOptions {
  maxBatch?: number;
  maxWaitMs?: number;
  /** Derive the graph without LoRA inputs for requests without a LoRA. Default true. */
  baseOnlyGraph?: boolean;
  /** Adapter sets merged into sessions of their own at most. Default 0 (off). */
  mergeHot?: number;
}

export interface LaneMetrics {
  /** Requests without a LoRA run the graph without LoRA inputs. */
  baseOnlyGraph: boolean;
  /** Sessions of merged adapter sets now, merges done, and merged sessions given up. */
  merged: number;
  merges: number;
  mergeEvictions: number;
  /** Requests served by merged sessions. */
  mergedRequests: number;
}

const isLoraInput = (name: string) => /\.lora_[AB]\.weight$/.test(name);

/** Tokens served before an adapter set may be merged, and the total after which every heat halves. */
const MIN_HEAT = 512;
const HALF_LIFE_TOKENS = 50_000;

/** By the package's own decoder (its session), which every copy of the package shares. */
const baseDecoders = new WeakMap<DecoderLike, Promise<Decoder>>();

/** The package's graph without LoRA inputs: one session per package and process, like the package's own. */
function baseDecoder(pkg: ModelPackage): Promise<Decoder> | undefined {
  const graph = pkg.graph;
  if (!graph || pkg.shape.loraModules.length === 0) return undefined;
  let p = baseDecoders.get(pkg.decoder);
  if (!p) {
    p = graph().then((bytes) => Decoder.create(baseOnlyGraph(bytes, isLoraInput), baseShape(pkg)));
    baseDecoders.set(pkg.decoder, p);
    p.catch(() => baseDecoders.delete(pkg.decoder));
  }
  return p;
}

const baseShape = (pkg: ModelPackage) => ({ ...pkg.shape, loraModules: [], loraShapes: [] });

interface Merged extends Lane {
  decoder: Decoder;
  retired: boolean;
}

export class Lanes {
  /** Resolves when the base-only session is ready (or failed: then every request uses the LoRA graph). */
  readonly ready: Promise<void>;
  private readonly lora: Lane;
  private base: Lane | null = null;
  private readonly merged = new Map<string, Merged>();
  private readonly merging = new Set<string>();
  private readonly heat = new Map<string, number>();
  private served = 0;
  private readonly counts = { merges: 0, mergeEvictions: 0, mergedRequests: 0 };

  constructor(
    private readonly model: ModelPackage,
    private readonly options: LaneOptions = {},
  ) {
    this.lora = this.laneOf(model.decoder);
    const base = options.baseOnlyGraph === false ? undefined : baseDecoder(model);
    this.ready = base
      ? base.then(
          (decoder) => {
            this.base = this.laneOf(decoder);
          },
          () => {}, // the LoRA graph serves everyone, rank 0 for requests without a LoRA
        )
      : Promise.resolve();
  }

  /** The lane for a request: `key` names its adapter set (undefined: none). */
  pick(key: string | undefined, conditioning: Conditioning | undefined): LaneChoice {
    if (!conditioning?.lora) return { lane: this.base ?? this.lora, conditioning };
    const merged = key === undefined ? undefined : this.merged.get(key);
    if (merged) {
      this.counts.mergedRequests++;
      const { lora: _, ...rest } = conditioning;
      return { lane: merged, conditioning: rest };
    }
    return { lane: this.lora, conditioning };
  }

  /** Runs `fn` on the lane, counted as one of its users. */
  async use<T>(choice: LaneChoice, fn: (lane: Lane) => Promise<T>): Promise<T> {
    choice.lane.users++;
    try {
      return await fn(choice.lane);
    } finally {
      choice.lane.users--;
      this.releaseRetired();
    }
  }

  /** Counts tokens served for an adapter set; merges the hottest when `mergeHot` allows. */
  record(key: string | undefined, conditioning: Conditioning | undefined, tokens: number): void {
    // A quantized graph's weights are int8: no LoRA is merged into them (its adapters apply per request).
    const hot = this.model.config.tailor.quantized ? 0 : (this.options.mergeHot ?? 0);
    if (hot <= 0 || key === undefined || !conditioning?.lora || !this.model.graph) return;
    this.served += tokens;
    if (this.served >= HALF_LIFE_TOKENS) {
      this.served = 0;
      for (const [k, h] of this.heat) this.heat.set(k, h / 2);
    }
    const h = (this.heat.get(key) ?? 0) + tokens;
    this.heat.set(key, h);
    if (this.merged.has(key) || this.merging.has(key) || h < MIN_HEAT) return;
    if (this.merged.size + this.merging.size >= hot) {
      const [coldest, cold] = [...this.merged.keys()]
        .map((k) => [k, this.heat.get(k) ?? 0] as const)
        .reduce((a, b) => (b[1] < a[1] ? b : a), ['', Number.POSITIVE_INFINITY] as const);
      if (!coldest || h < 2 * cold) return;
      this.retire(coldest);
      this.counts.mergeEvictions++;
    }
    this.merging.add(key);
    this.merge(conditioning)
      .then((lane) => {
        if (this.merging.delete(key)) this.merged.set(key, lane);
        else void lane.decoder.release(); // forgotten while it was being merged
        this.counts.merges++;
      })
      .catch(() => this.merging.delete(key));
  }

  /** Gives up the merged sessions of adapter sets that `matches` (an erased user's). */
  forget(matches: (key: string) => boolean): void {
    for (const k of [...this.merged.keys()]) if (matches(k)) this.retire(k);
    for (const k of [...this.merging]) if (matches(k)) this.merging.delete(k);
    for (const k of [...this.heat.keys()]) if (matches(k)) this.heat.delete(k);
  }

  /** Every lane's batching, summed. */
  batching(): BatchMetrics {
    const all = [this.lora, ...(this.base ? [this.base] : []), ...this.merged.values()].map((l) =>
      l.batcher.metrics(),
    );
    const sum = (f: (m: BatchMetrics) => number) => all.reduce((n, m) => n + f(m), 0);
    return {
      maxBatch: this.lora.batcher.maxBatch,
      runs: sum((m) => m.runs),
      rows: sum((m) => m.rows),
      ghostRows: sum((m) => m.ghostRows),
      regroups: sum((m) => m.regroups),
      active: sum((m) => m.active),
    };
  }

  metrics(): LaneMetrics {
    return { baseOnlyGraph: this.base !== null, merged: this.merged.size, ...this.counts };
  }

  private laneOf(decoder: DecoderLike): Lane {
    return {
      pkg: { ...this.model, decoder },
      batcher: new Batcher(decoder, { maxBatch: this.options.maxBatch, maxWaitMs: this.options.maxWaitMs }),
      users: 0,
    };
  }

  private async merge(conditioning: Conditioning): Promise<Merged> {
    const graph = this.model.graph as () => Promise<Uint8Array>;
    const deltas: LoraDelta[] = [];
    for (const [name, a] of Object.entries(conditioning.lora ?? {})) {
      if (!name.endsWith('.lora_A.weight')) continue;
      const module = name.slice(0, -'.lora_A.weight'.length);
      const b = conditioning.lora?.[`${module}.lora_B.weight`];
      const r = a.dims[1] as number;
      if (b && r > 0) deltas.push({ module, a: a.data as Float32Array, b: b.data as Float32Array, r });
    }
    const bytes = mergeLora(baseOnlyGraph(await graph(), isLoraInput), deltas);
    const decoder = await Decoder.create(bytes, baseShape(this.model));
    return { ...this.laneOf(decoder), decoder, retired: false };
  }

  /** Out of routing now; its session is released once its last generation has ended. */
  private retire(key: string): void {
    const lane = this.merged.get(key);
    if (!lane) return;
    this.merged.delete(key);
    lane.retired = true;
    this.retiredLanes.push(lane);
    this.releaseRetired();
  }

  private retiredLanes: Merged[] = [];

  private releaseRetired(): void {
    this.retiredLanes = this.retiredLanes.filter((lane) => {
      if (lane.users > 0) return true;
      void lane.decoder.release();
      return false;
    });
  }
}
