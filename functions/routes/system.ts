// Health and metrics: GET /healthz (the database answers, the model is loaded), GET /metrics (Prometheus).
import { Hono } from 'hono';
import { pingDatabase } from '../../core/db/database.js';
import type { HonoEnv, Services } from '../http/services.js';

export function systemRoutes(s: Services) {
  return new Hono<HonoEnv>()
    .get('/healthz', async (c) => {
      const t0 = performance.now();
      let database = 'ok';
      try {
        await pingDatabase(s.db);
      } catch {
        database = 'unreachable';
      }
      const ok = database === 'ok';
      return c.json(
        {
          status: ok ? 'ok' : 'degraded',
          database,
          base_model: s.baseModelId,
          check_ms: Math.round((performance.now() - t0) * 10) / 10,
        },
        ok ? 200 : 503,
      );
    })
    .get('/metrics', (c) => {
      const m = s.engine.metrics();
      const cache = m.adapterCache;
      const lines = [
        family('tailor_generations_active', 'Generations in progress.', 'gauge', m.generationsActive),
        family('tailor_generations_total', 'Generations started.', 'counter', m.generationsStarted),
        family('tailor_generations_failed_total', 'Generations that failed.', 'counter', m.generationsFailed),
        family(
          'tailor_generation_finish_total',
          'Generations by finish reason.',
          'counter',
          Object.entries(m.finishReasons).map(([reason, n]) => [{ reason }, n] as const),
        ),
        family('tailor_prompt_tokens_total', 'Prompt tokens read.', 'counter', m.promptTokens),
        family('tailor_completion_tokens_total', 'Tokens generated.', 'counter', m.completionTokens),
        family('tailor_scored_texts_total', 'Texts scored.', 'counter', m.scoredTexts),
        family('tailor_adapter_cache_hits_total', 'Adapter cache hits.', 'counter', cache.hits),
        family('tailor_adapter_cache_misses_total', 'Adapter cache misses.', 'counter', cache.misses),
        family('tailor_adapter_loads_total', 'Adapter loads from storage.', 'counter', cache.loads),
        family('tailor_adapter_load_errors_total', 'Adapter loads that failed.', 'counter', cache.loadErrors),
        family(
          'tailor_adapter_cache_evictions_total',
          'Adapters evicted from the cache.',
          'counter',
          cache.evictions,
        ),
        family('tailor_adapter_cache_bytes', 'Bytes of adapter tensors held.', 'gauge', cache.bytes),
        family('tailor_adapter_cache_entries', 'Adapters (and compositions) held.', 'gauge', cache.entries),
        family(
          'tailor_adapter_load_seconds_sum',
          'Time spent loading adapters.',
          'counter',
          cache.loadSeconds.sum,
        ),
        family(
          'tailor_adapter_load_seconds_count',
          'Adapter loads timed.',
          'counter',
          cache.loadSeconds.count,
        ),
      ];
      return c.text(`${s.registry.render()}${lines.join('\n')}\n`, 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      });
    });
}

type Sample = readonly [Record<string, string>, number];

/** One metric family in the text format: HELP and TYPE once, then each sample. */
function family(
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  samples: number | readonly Sample[],
): string {
  const list: readonly Sample[] = typeof samples === 'number' ? [[{}, samples]] : samples;
  const rows = list.map(([l, v]) => {
    const parts = Object.entries(l).map(([k, x]) => `${k}="${x}"`);
    return `${name}${parts.length ? `{${parts.join(',')}}` : ''} ${v}`;
  });
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows].join('\n');
}
