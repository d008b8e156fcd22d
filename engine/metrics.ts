// An engine's counters as one plain object (for /metrics), and the sums that add several up: the bases of one
// engine, or the engines of a pool's threads.
import type { CacheMetrics } from './adapter-cache.js';
import type { BatchMetrics } from './batch.js';
import type { FinishReason } from './generate.js';
import type { LaneMetrics } from './lanes.js';

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

const sumOf = <T>(all: readonly T[], f: (m: T) => number) => all.reduce((n, m) => n + f(m), 0);

/** Several adapter caches as one: counts and bytes added, the load-time histograms merged. */
export function sumCacheMetrics(all: readonly CacheMetrics[]): CacheMetrics {
  const buckets: Record<string, number> = {};
  for (const m of all) {
    for (const [le, n] of Object.entries(m.loadSeconds.buckets)) buckets[le] = (buckets[le] ?? 0) + n;
  }
  const c = (k: keyof Omit<CacheMetrics, 'loadSeconds'>) => sumOf(all, (m) => m[k]);
  return {
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
      sum: sumOf(all, (m) => m.loadSeconds.sum),
      count: sumOf(all, (m) => m.loadSeconds.count),
    },
  };
}

export function sumBatchMetrics(all: readonly BatchMetrics[]): BatchMetrics {
  return {
    maxBatch: Math.max(0, ...all.map((m) => m.maxBatch)),
    runs: sumOf(all, (m) => m.runs),
    rows: sumOf(all, (m) => m.rows),
    ghostRows: sumOf(all, (m) => m.ghostRows),
    regroups: sumOf(all, (m) => m.regroups),
    active: sumOf(all, (m) => m.active),
  };
}

export function sumLaneMetrics(all: readonly LaneMetrics[]): LaneMetrics {
  return {
    baseOnlyGraph: all.length > 0 && all.every((m) => m.baseOnlyGraph),
    merged: sumOf(all, (m) => m.merged),
    merges: sumOf(all, (m) => m.merges),
    mergeEvictions: sumOf(all, (m) => m.mergeEvictions),
    mergedRequests: sumOf(all, (m) => m.mergedRequests),
  };
}

/** Several engines' metrics added up (a pool's threads). */
export function sumEngineMetrics(all: readonly EngineMetrics[]): EngineMetrics {
  const n = (f: (m: EngineMetrics) => number) => sumOf(all, f);
  return {
    generationsStarted: n((m) => m.generationsStarted),
    generationsFailed: n((m) => m.generationsFailed),
    generationsActive: n((m) => m.generationsActive),
    finishReasons: {
      stop: n((m) => m.finishReasons.stop),
      length: n((m) => m.finishReasons.length),
      eos: n((m) => m.finishReasons.eos),
    },
    promptTokens: n((m) => m.promptTokens),
    completionTokens: n((m) => m.completionTokens),
    scoreRequests: n((m) => m.scoreRequests),
    scoredTexts: n((m) => m.scoredTexts),
    scoredTokens: n((m) => m.scoredTokens),
    adapterCache: sumCacheMetrics(all.map((m) => m.adapterCache)),
    batching: sumBatchMetrics(all.map((m) => m.batching)),
    lanes: sumLaneMetrics(all.map((m) => m.lanes)),
  };
}
