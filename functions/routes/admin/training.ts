// Admin: training jobs (listed, followed with their log), training cycles run now, and style adapters trained
// from texts or a Brown genre (queued for a worker in this process or another).
import { createRoute } from '@hono/zod-openapi';
import { getJob, listJobs } from '../../../core/db/jobs.js';
import { enqueue } from '../../../core/training/jobs.js';
import {
  appParams,
  jobItem,
  jobParams,
  listJobsQuery,
  listJobsResponse,
  styleTrainRequest,
  styleTrainResponse,
  trainingRunRequest,
  trainingRunResponse,
} from '../../../schema/contracts.js';
import { ApiError, notFound } from '../../http/errors.js';
import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from '../../usecases/apps.js';
import { audit } from '../../usecases/audit.js';
import { page, views } from '../../usecases/views.js';

const tags = ['training'];
const security = adminSecurity;

const listJobsRoute = createRoute({
  method: 'get',
  path: '/admin/jobs',
  tags,
  security,
  summary: 'Training jobs, newest first',
  request: { query: listJobsQuery },
  responses: { 200: json(listJobsResponse, 'A page of jobs'), ...errors(401, 403, 422) },
});
const getJobRoute = createRoute({
  method: 'get',
  path: '/admin/jobs/{id}',
  tags,
  security,
  summary: 'One job, with its progress and log',
  request: { params: jobParams },
  responses: { 200: json(jobItem, 'The job'), ...errors(401, 403, 404, 422) },
});
const trainingRunRoute = createRoute({
  method: 'post',
  path: '/admin/training/run',
  tags,
  security,
  summary: 'Run a training cycle now',
  description:
    'Enqueues the due users (of one app, or all; named users are trained whatever the policy, if they have ' +
    'usable feedback). Answers 202 at once with the jobs, or with `wait: true` 200 when they have finished.',
  request: { body: body(trainingRunRequest) },
  responses: {
    202: json(trainingRunResponse, 'Enqueued'),
    200: json(trainingRunResponse, 'Finished (wait: true)'),
    ...errors(...ADMIN_ERRORS, 404, 503),
  },
});
const styleTrainRoute = createRoute({
  method: 'post',
  path: '/admin/apps/{app}/styles',
  tags,
  security,
  summary: 'Train a style adapter',
  description: 'From texts given here or a Brown genre; follow the job with GET /admin/jobs/{id}.',
  request: { params: appParams, body: body(styleTrainRequest) },
  responses: { 202: json(styleTrainResponse, 'Enqueued'), ...errors(...ADMIN_ERRORS, 404) },
});

export function adminTrainingRoutes(s: Services) {
  return routes()
    .openapi(listJobsRoute, async (c) => {
      const q = c.req.valid('query');
      const where = {
        ...(q.app ? { appId: q.app } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
      };
      return c.json(
        page(await listJobs(s.db, where, q), (j) => views.job(j)),
        200,
      );
    })
    .openapi(getJobRoute, async (c) => {
      const { id } = c.req.valid('param');
      const job = await getJob(s.db, id);
      if (!job) throw notFound(`no job ${id}`);
      return c.json(views.job(job, true), 200);
    })
    .openapi(trainingRunRoute, async (c) => {
      const req = c.req.valid('json');
      if (!s.training)
        throw new ApiError(503, 'unavailable', 'no training worker is attached to this process');
      if (req.app) await appOf(s, req.app);
      await audit(s, c.get('caller'), 'training.run', {
        appId: req.app ?? null,
        subject: req.users?.length === 1 ? { kind: 'user', id: req.users[0] as string } : null,
        details: { wait: req.wait, users: req.users?.length ?? 'due' },
      });
      const ids = await s.training.runCycle({
        wait: req.wait,
        ...(req.app ? { app: req.app } : {}),
        ...(req.users ? { users: req.users } : {}),
      });
      const jobs = (await Promise.all(ids.map((id) => getJob(s.db, id)))).flatMap((j) =>
        j ? [views.job(j)] : [],
      );
      return req.wait ? c.json({ jobs }, 200) : c.json({ jobs }, 202);
    })
    .openapi(styleTrainRoute, async (c) => {
      const app = await appOf(s, c.req.valid('param').app);
      const req = c.req.valid('json');
      const source = req.texts ? { texts: req.texts } : { genre: req.genre as string };
      const job = await enqueue(
        s.db,
        'train-style',
        { baseModel: s.baseModelId, appId: app.id, styleId: req.style, source },
        { appId: app.id },
      );
      await audit(s, c.get('caller'), 'style.training', {
        appId: app.id,
        subject: { kind: 'style', id: `style:${req.style}` },
        details: { job: job.id, source: req.texts ? `${req.texts.length} texts` : `genre ${req.genre}` },
      });
      return c.json({ job: views.job(job) }, 202);
    });
}
