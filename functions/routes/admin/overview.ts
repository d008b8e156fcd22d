// Admin: what the console's overview, model and audit pages show. Figures over time come from the rows (so
// they hold across processes and isolates); only the adapter cache figures are this process's own.
import { createRoute } from '@hono/zod-openapi';
import { listAudit } from '../../../core/db/audit.js';
import { getBaseModel } from '../../../core/db/base-models.js';
import {
  activitySeries,
  type Bucket,
  fallbackReasons,
  trainingSeries,
  usersWithActiveAdapter,
} from '../../../core/db/stats.js';
import type { BaseModelConfig } from '../../../core/model/config.js';
import {
  listAuditQuery,
  listAuditResponse,
  modelResponse,
  overviewQuery,
  overviewResponse,
} from '../../../schema/contracts.js';
import type { AuditEntry } from '../../../schema/tables.js';
import { ApiError } from '../../http/errors.js';
import { adminSecurity, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from '../../usecases/apps.js';
import { page } from '../../usecases/views.js';

const security = adminSecurity;

const overviewRoute = createRoute({
  method: 'get',
  path: '/admin/overview',
  tags: ['console'],
  security,
  summary: 'Activity, training and serving over time',
  description:
    'Per hour (24h, 7d) or day (30d), of one app or all: generations, feedback by kind, active users, decode ' +
    'speed, time to first token and fallbacks (from generation rows); versions promoted and rejected and jobs ' +
    "failed. `engine` is this process's adapter cache only.",
  request: { query: overviewQuery },
  responses: { 200: json(overviewResponse, 'The overview'), ...errors(401, 403, 404, 422) },
});
const modelRoute = createRoute({
  method: 'get',
  path: '/admin/model',
  tags: ['console'],
  security,
  summary: 'The base model card',
  description: 'Its shape, LoRA limits, held-out perplexity per genre and pretraining loss curve.',
  responses: { 200: json(modelResponse, 'The model'), ...errors(401, 403, 503) },
});
const auditRoute = createRoute({
  method: 'get',
  path: '/admin/audit',
  tags: ['console'],
  security,
  summary: 'The audit log, newest first',
  description: 'Who did what and when: apps, keys, secrets, settings, promotions, rollbacks, erasures, runs.',
  request: { query: listAuditQuery },
  responses: { 200: json(listAuditResponse, 'A page of entries'), ...errors(401, 403, 422) },
});

const RANGES: Record<string, { bucket: Bucket; ms: number }> = {
  '24h': { bucket: 'hour', ms: 24 * 3_600_000 },
  '7d': { bucket: 'hour', ms: 7 * 24 * 3_600_000 },
  '30d': { bucket: 'day', ms: 30 * 24 * 3_600_000 },
};

type Scalar = string | number | boolean | null;
const scalars = (d: Record<string, unknown>): Record<string, Scalar> =>
  Object.fromEntries(
    Object.entries(d).map(([k, v]) => [
      k,
      v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as Scalar) : JSON.stringify(v),
    ]),
  );
const auditView = (e: AuditEntry) => ({
  id: e.id,
  at: e.at.toISOString(),
  actor: e.actor,
  action: e.action,
  app_id: e.appId,
  subject: e.subject,
  subject_kind: e.subjectKind,
  details: scalars(e.details),
});

/** At most `n` points of a curve, evenly spaced, the last one kept. */
function thin<T>(points: T[], n: number): T[] {
  if (points.length <= n) return points;
  const step = points.length / n;
  const out = Array.from({ length: n - 1 }, (_, i) => points[Math.floor(i * step)] as T);
  out.push(points[points.length - 1] as T);
  return out;
}

export function adminOverviewRoutes(s: Services) {
  return routes()
    .openapi(overviewRoute, async (c) => {
      const q = c.req.valid('query');
      const appId = q.app ? (await appOf(s, q.app)).id : undefined;
      const { bucket, ms } = RANGES[q.range] as { bucket: Bucket; ms: number };
      const since = new Date(s.now() - ms);
      const where = { ...(appId ? { appId } : {}), bucket, since };
      const [activity, training, reasons, active] = await Promise.all([
        activitySeries(s.db, where),
        trainingSeries(s.db, where),
        fallbackReasons(s.db, where),
        usersWithActiveAdapter(s.db, appId),
      ]);
      const m = s.engine.metrics();
      const lookups = m.adapterCache.hits + m.adapterCache.misses;
      return c.json(
        {
          bucket,
          since: since.toISOString(),
          activity: activity.map((a) => ({
            t: a.t,
            generations: a.generations,
            likes: a.likes,
            dislikes: a.dislikes,
            edits: a.edits,
            active_users: a.activeUsers,
            tokens_per_s: a.tokensPerSecond,
            first_token_ms: a.firstTokenMs,
            fallbacks: a.fallbacks,
          })),
          training: training.map((t) => ({
            t: t.t,
            promoted: t.promoted,
            rejected: t.rejected,
            failed_jobs: t.failedJobs,
          })),
          fallback_reasons: reasons,
          totals: { users_with_active_adapter: active },
          engine: {
            adapter_cache: {
              hits: m.adapterCache.hits,
              misses: m.adapterCache.misses,
              hit_rate: lookups > 0 ? m.adapterCache.hits / lookups : null,
              entries: m.adapterCache.entries,
              bytes: m.adapterCache.bytes,
              max_bytes: m.adapterCache.maxBytes,
            },
            generations_active: m.generationsActive,
          },
        },
        200,
      );
    })
    .openapi(modelRoute, async (c) => {
      const base = await getBaseModel(s.db, s.baseModelId);
      if (!base) throw new ApiError(503, 'unavailable', `base model ${s.baseModelId} is not published`);
      const cfg = base.config as unknown as BaseModelConfig;
      const tailor = cfg.tailor;
      const report = (tailor.pretrain_report ?? {}) as {
        params?: number;
        steps?: number;
        tokens_seen?: number;
        train_seconds?: number;
        device?: string;
        heldout?: Record<string, { nll: number; ppl: number; tokens: number }>;
      };
      const log = await s.store.get(`${base.storagePrefix}train_log.jsonl`).catch(() => null);
      const loss: [number, number][] = [];
      for (const line of log ? new TextDecoder().decode(log).split('\n') : []) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { step?: number; loss?: number };
        if (typeof r.step === 'number' && typeof r.loss === 'number') loss.push([r.step, r.loss]);
      }
      const perplexity = Object.entries(report.heldout ?? {})
        .map(([split, v]) => ({ split, ppl: v.ppl, nll: v.nll, tokens: v.tokens }))
        .sort((a, b) => (a.split === 'all' ? -1 : b.split === 'all' ? 1 : a.ppl - b.ppl));
      return c.json(
        {
          id: base.id,
          params: report.params ?? 0,
          architecture: {
            layers: cfg.num_hidden_layers,
            hidden_size: cfg.hidden_size,
            heads: cfg.num_attention_heads,
            kv_heads: cfg.num_key_value_heads ?? cfg.num_attention_heads,
            vocab_size: cfg.vocab_size,
            context: cfg.max_position_embeddings,
          },
          lora: { targets: tailor.lora_targets, max_rank: tailor.max_lora_rank },
          perplexity,
          training: {
            steps: report.steps ?? loss.length,
            tokens_seen: report.tokens_seen ?? 0,
            seconds: report.train_seconds ?? 0,
            device: report.device ?? 'unknown',
            loss: thin(loss, 300),
          },
          splits: { train: tailor.splits?.train?.length ?? 0, heldout: tailor.splits?.heldout?.length ?? 0 },
        },
        200,
      );
    })
    .openapi(auditRoute, async (c) => {
      const q = c.req.valid('query');
      const where = { ...(q.app ? { appId: q.app } : {}), ...(q.action ? { action: q.action } : {}) };
      return c.json(page(await listAudit(s.db, where, q), auditView), 200);
    });
}
