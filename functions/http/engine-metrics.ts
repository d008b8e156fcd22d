// The engine's own counters (generations, tokens, its adapter cache) as Prometheus families, read at each
// scrape. The cache hit rate is per process: every process (every isolate on Workers) has its own cache.
import type { EngineMetrics } from '../../engine/index.js';
import type { Family } from './metrics.js';

export function engineFamilies(m: EngineMetrics): Family[] {
  const cache = m.adapterCache;
  const counter = (name: string, help: string, value: number): Family => ({
    name,
    help,
    type: 'counter',
    samples: [{ value }],
  });
  const gauge = (name: string, help: string, value: number): Family => ({
    name,
    help,
    type: 'gauge',
    samples: [{ value }],
  });
  const buckets = Object.entries(cache.loadSeconds.buckets)
    .filter(([le]) => le !== '+Inf')
    .map(([le, count]) => ({ le: Number(le), count }));
  return [
    gauge('tailor_generations_active', 'Generations in progress.', m.generationsActive),
    counter('tailor_generations_total', 'Generations started.', m.generationsStarted),
    counter('tailor_generations_failed_total', 'Generations that failed.', m.generationsFailed),
    {
      name: 'tailor_generation_finish_total',
      help: 'Generations by finish reason.',
      type: 'counter',
      samples: Object.entries(m.finishReasons).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    counter('tailor_prompt_tokens_total', 'Prompt tokens read.', m.promptTokens),
    counter('tailor_completion_tokens_total', 'Tokens generated.', m.completionTokens),
    counter('tailor_scored_texts_total', 'Texts scored.', m.scoredTexts),
    counter(
      'tailor_decode_runs_total',
      'Decoder runs of decode steps (each carries a batch of generations).',
      m.batching.runs,
    ),
    counter(
      'tailor_decode_rows_total',
      'Generation steps decoded in those runs (rows / runs = mean batch size).',
      m.batching.rows,
    ),
    gauge(
      'tailor_merged_sessions',
      'Adapter sets merged into sessions of their own (TAILOR_MERGE_HOT).',
      m.lanes.merged,
    ),
    counter('tailor_merged_requests_total', 'Requests served by merged sessions.', m.lanes.mergedRequests),
    counter('tailor_adapter_cache_hits_total', 'Adapter cache hits.', cache.hits),
    counter('tailor_adapter_cache_misses_total', 'Adapter cache misses.', cache.misses),
    counter('tailor_adapter_loads_total', 'Adapter loads from storage.', cache.loads),
    counter('tailor_adapter_load_errors_total', 'Adapter loads that failed.', cache.loadErrors),
    counter('tailor_adapter_cache_evictions_total', 'Adapters evicted from the cache.', cache.evictions),
    gauge('tailor_adapter_cache_bytes', 'Bytes of adapter tensors held.', cache.bytes),
    gauge('tailor_adapter_cache_max_bytes', 'The adapter cache budget in bytes.', cache.maxBytes),
    gauge('tailor_adapter_cache_entries', 'Adapters (and compositions) held.', cache.entries),
    {
      name: 'tailor_adapter_load_seconds',
      help: 'Time to load an adapter from storage into the cache.',
      type: 'histogram',
      series: [{ buckets, sum: cache.loadSeconds.sum, count: cache.loadSeconds.count }],
    },
  ];
}
