// Admin routes (Authorization: Bearer <ADMIN_TOKEN>): apps, listings for the console, training runs,
// promotion and rollback of adapter versions, and generation as any user with any version (compare outputs).
import { Hono } from 'hono';
import { type AdapterOwner, listAdapters, promoteAdapter, rollbackAdapter } from '../../core/db/adapters.js';
import { createApp, getApp, listApps } from '../../core/db/apps.js';
import { getBaseModel } from '../../core/db/base-models.js';
import { listFeedback } from '../../core/db/feedback.js';
import { listGenerations } from '../../core/db/generations.js';
import { getJob, listJobs } from '../../core/db/jobs.js';
import type { Page } from '../../core/db/pagination.js';
import { listEndUsers } from '../../core/db/users.js';
import { enqueue } from '../../core/training/jobs.js';
import {
  appParams,
  createAppRequest,
  generateRequest,
  listAdaptersQuery,
  listFeedbackQuery,
  listJobsQuery,
  listUsersQuery,
  pageQuery,
  promoteRequest,
  rollbackRequest,
  styleImportRequest,
  styleTrainRequest,
  trainingRunRequest,
} from '../../schema/contracts.js';
import type { Adapter, App, EndUser, Feedback, Generation, TrainingJob } from '../../schema/tables.js';
import { importStyleAdapter } from '../adapters/style-import.js';
import { AdapterError } from '../engine/adapter.js';
import { ApiError, notFound } from '../http/errors.js';
import type { HonoEnv, Services } from '../http/services.js';
import { jsonBody, pathParams, queryParams } from '../http/validate.js';
import { generate } from './generate.js';

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const page = <T, U>(p: Page<T>, view: (row: T) => U) => ({
  items: p.items.map(view),
  next_cursor: p.nextCursor,
});

export const views = {
  app: (a: App) => ({ id: a.id, name: a.name, created_at: a.createdAt.toISOString() }),
  user: (u: EndUser) => ({
    user: u.userId,
    created_at: u.createdAt.toISOString(),
    last_seen: u.lastSeen.toISOString(),
  }),
  feedback: (f: Feedback) => ({
    id: f.id,
    user: f.userId,
    generation_id: f.generationId,
    prompt: f.prompt,
    text: f.text,
    rating: f.rating,
    edited_text: f.editedText,
    idempotency_key: f.idempotencyKey,
    created_at: f.createdAt.toISOString(),
  }),
  generation: (g: Generation) => ({
    id: g.id,
    user: g.userId,
    prompt: g.prompt,
    text: g.text,
    adapter_version: g.adapterVersion,
    styles: g.styles,
    finish_reason: g.finishReason,
    usage: { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens },
    timings_ms: g.timingsMs,
    created_at: g.createdAt.toISOString(),
  }),
  adapter: (a: Adapter) => ({
    id: a.id,
    kind: a.kind,
    user: a.userId,
    style: a.styleId,
    version: a.version,
    status: a.status,
    metrics: a.metrics,
    storage_prefix: a.storagePrefix,
    base_model: a.baseModelId,
    created_at: a.createdAt.toISOString(),
    promoted_at: iso(a.promotedAt),
  }),
  job: (j: TrainingJob, withLog = false) => ({
    id: j.id,
    kind: j.kind,
    app_id: j.appId,
    status: j.status,
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    payload: j.payload,
    progress: j.progress,
    result: j.result ?? null,
    error: j.error,
    ...(withLog ? { log: j.log } : {}),
    created_at: j.createdAt.toISOString(),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
  }),
};

export function adminRoutes(s: Services) {
  const appOf = async (id: string) => {
    const app = await getApp(s.db, id);
    if (!app) throw notFound(`no app ${id}`);
    return app;
  };
  const ownerOf = (b: { app: string; user?: string; style?: string }): AdapterOwner =>
    b.user !== undefined ? { appId: b.app, userId: b.user } : { appId: b.app, styleId: b.style as string };

  return new Hono<HonoEnv>()
    .post('/admin/apps', async (c) => {
      const { name } = await jsonBody(c, createAppRequest);
      const created = await createApp(s.db, { name });
      s.callers.forgetApps();
      return c.json(
        { app_id: created.app.id, api_key: created.apiKey, signing_secret: created.signingSecret, name },
        201,
      );
    })
    .get('/admin/apps', async (c) => c.json(page(await listApps(s.db, queryParams(c, pageQuery)), views.app)))
    .get('/admin/apps/:app/users', async (c) => {
      const app = await appOf(pathParams(c, appParams).app);
      return c.json(page(await listEndUsers(s.db, app.id, queryParams(c, listUsersQuery)), views.user));
    })
    .get('/admin/apps/:app/feedback', async (c) => {
      const app = await appOf(pathParams(c, appParams).app);
      const q = queryParams(c, listFeedbackQuery);
      const where = { appId: app.id, ...(q.user ? { userId: q.user } : {}) };
      return c.json(page(await listFeedback(s.db, where, q), views.feedback));
    })
    .get('/admin/apps/:app/generations', async (c) => {
      const app = await appOf(pathParams(c, appParams).app);
      const q = queryParams(c, listFeedbackQuery);
      const where = { appId: app.id, ...(q.user ? { userId: q.user } : {}) };
      return c.json(page(await listGenerations(s.db, where, q), views.generation));
    })
    .get('/admin/apps/:app/adapters', async (c) => {
      const app = await appOf(pathParams(c, appParams).app);
      const q = queryParams(c, listAdaptersQuery);
      const where = {
        appId: app.id,
        ...(q.user ? { userId: q.user } : {}),
        ...(q.style ? { styleId: q.style } : {}),
        ...(q.status ? { status: q.status } : {}),
      };
      return c.json(page(await listAdapters(s.db, where, q), views.adapter));
    })
    .post('/admin/apps/:app/generate', async (c) => {
      // As any user, with any version ({ version }, "none", "auto"): what the console's compare view calls.
      const app = await appOf(pathParams(c, appParams).app);
      const req = await jsonBody(c, generateRequest);
      return generate(s, c, app, { ...req, stream: false });
    })
    .get('/admin/jobs', async (c) => {
      const q = queryParams(c, listJobsQuery);
      const where = {
        ...(q.app ? { appId: q.app } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
      };
      return c.json(page(await listJobs(s.db, where, q), (j) => views.job(j)));
    })
    .get('/admin/jobs/:id', async (c) => {
      const job = await getJob(s.db, c.req.param('id'));
      if (!job) throw notFound(`no job ${c.req.param('id')}`);
      return c.json(views.job(job, true));
    })
    .post('/admin/training/run', async (c) => {
      const req = await jsonBody(c, trainingRunRequest);
      if (!s.training)
        throw new ApiError(503, 'unavailable', 'no training worker is attached to this process');
      if (req.app) await appOf(req.app);
      const ids = await s.training.runCycle({
        wait: req.wait,
        ...(req.app ? { app: req.app } : {}),
        ...(req.users ? { users: req.users } : {}),
      });
      const jobs = await Promise.all(ids.map((id) => getJob(s.db, id)));
      return c.json({ jobs: jobs.filter((j) => j !== null).map((j) => views.job(j)) }, req.wait ? 200 : 202);
    })
    .post('/admin/apps/:app/styles', async (c) => {
      // Queued for a worker (in this process or another); follow it with GET /admin/jobs/:id.
      const app = await appOf(pathParams(c, appParams).app);
      const req = await jsonBody(c, styleTrainRequest);
      const source = req.texts ? { texts: req.texts } : { genre: req.genre as string };
      const job = await enqueue(
        s.db,
        'train-style',
        { baseModel: s.baseModelId, appId: app.id, styleId: req.style, source },
        { appId: app.id },
      );
      return c.json({ job: views.job(job) }, 202);
    })
    .post('/admin/apps/:app/styles/import', async (c) => {
      const app = await appOf(pathParams(c, appParams).app);
      const req = await jsonBody(c, styleImportRequest);
      const base = await getBaseModel(s.db, s.baseModelId);
      if (!base) throw new ApiError(503, 'unavailable', `base model ${s.baseModelId} is not published`);
      const model = s.engine.model;
      try {
        const published = await importStyleAdapter(s.db, s.store, {
          appId: app.id,
          styleId: req.style,
          files: { config: fromBase64(req.adapter_config), weights: fromBase64(req.adapter_model) },
          baseModel: { id: base.id, hash: base.hash },
          shape: model.shape,
          limits: { maxRank: model.config.tailor.max_lora_rank, targets: model.config.tailor.lora_targets },
        });
        s.adapters.forget({ appId: app.id, styleId: req.style });
        return c.json(
          {
            adapter: views.adapter(published.adapter),
            retired: published.retired ? views.adapter(published.retired) : null,
          },
          201,
        );
      } catch (e) {
        if (e instanceof AdapterError) throw new ApiError(422, 'invalid_adapter', e.message);
        throw e;
      }
    })
    .post('/admin/adapters/promote', async (c) => {
      const req = await jsonBody(c, promoteRequest);
      const owner = ownerOf(req);
      const flip = await promoteAdapter(s.db, owner, req.version);
      s.adapters.forget(owner);
      return c.json({
        active: views.adapter(flip.active),
        retired: flip.retired ? views.adapter(flip.retired) : null,
      });
    })
    .post('/admin/adapters/rollback', async (c) => {
      const req = await jsonBody(c, rollbackRequest);
      const owner = ownerOf(req);
      const flip = await rollbackAdapter(s.db, owner);
      s.adapters.forget(owner);
      return c.json({
        active: views.adapter(flip.active),
        retired: flip.retired ? views.adapter(flip.retired) : null,
      });
    });
}
