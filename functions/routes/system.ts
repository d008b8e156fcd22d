// Health and metrics: GET /healthz (the database answers, the model is loaded), GET /metrics (Prometheus).
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { pingDatabase } from '../../core/db/database.js';
import { healthResponse } from '../../schema/contracts.js';
import { json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['system'],
  summary: 'Health',
  description:
    'The database answers and the base model is loaded (503 `degraded` when the database does not).',
  security: [],
  responses: {
    200: json(healthResponse, 'Healthy'),
    503: json(healthResponse, 'The database does not answer'),
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['system'],
  summary: 'Prometheus metrics of this process',
  description:
    'Requests, latency, generations, tokens, the adapter cache and its loads, fallbacks to the base model. ' +
    'Counted per process (per isolate on Workers): for figures over time across processes, see the admin API.',
  security: [],
  responses: {
    200: {
      description: 'The text exposition format, version 0.0.4',
      content: { 'text/plain': { schema: z.string() } },
    },
  },
});

export function systemRoutes(s: Services) {
  return routes()
    .openapi(healthRoute, async (c) => {
      const t0 = performance.now();
      let database: 'ok' | 'unreachable' = 'ok';
      try {
        await pingDatabase(s.db);
      } catch {
        database = 'unreachable';
      }
      const body = {
        status: database === 'ok' ? ('ok' as const) : ('degraded' as const),
        database,
        base_model: s.baseModelId,
        check_ms: Math.round((performance.now() - t0) * 10) / 10,
      };
      return database === 'ok' ? c.json(body, 200) : c.json(body, 503);
    })
    .openapi(metricsRoute, (c) =>
      c.text(s.registry.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
    );
}
