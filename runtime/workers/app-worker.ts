// The whole HTTP API (functions/app.ts) as a Cloudflare Worker. Needs `compatibility_flags =
// ["nodejs_compat"]` (postgres.js and AsyncLocalStorage; see infra/workers/build.ts) and:
//
//   BUCKET              R2 binding: adapters, and the base model package under models/<TAILOR_BASE_MODEL>/
//   HYPERDRIVE          Hyperdrive binding to the PostgreSQL database (preferred), or
//   DATABASE_URL        secret: postgres://… reached directly from the Worker (a connection per request)
//   TAILOR_URL_SECRET   secret: signs the download links the app serves itself (the same in every isolate)
//   ADMIN_TOKEN         secret: opens the admin API (closed without it)
//   other vars          as core/config.ts reads them (TAILOR_BASE_MODEL, MAX_BODY_BYTES, rate limits…)
//
// What the Node entry does at startup and this one does not:
//   - migrations: the Worker never migrates. Run them from Node before deploying a new version
//     (`npx tsx infra/workers/prepare.ts`, CI, or any Node entry: they migrate on start).
//   - publishing the base model: upload the package to R2 beforehand (infra/workers/README.md).
//   - training: no worker is attached (`POST /admin/training/run` answers 503); training workers run on
//     GPU machines (`tailor worker`) against the same database and bucket.
//
// Per isolate, on the first request (a Worker may do no I/O at startup): the configuration, the engine with
// the model read from R2, the app with its rate limits, metrics and caches. Per request: the database
// connection (see request-db.ts), ended when the response body is done.
import './install-ort-wasm.js';
import type { ExecutionContext } from 'hono';
import { ConfigError, loadConfig } from '../../core/config.js';
import { getBaseModel } from '../../core/db/base-models.js';
import { type R2Bucket, R2Store } from '../../core/storage/r2-store.js';
import { Engine, servingOptions } from '../../engine/index.js';
import { createApp } from '../../functions/app.js';
import { perIsolate } from './isolate.js';
import { WORKERS_BASE_LIMIT, WORKERS_DEFAULTS } from './limits.js';
import { connectPostgres, RequestScopedDb } from './request-db.js';

export interface HyperdriveBinding {
  /** `postgresql://user:password@host:port/database`, to a Hyperdrive pool close to the Worker. */
  readonly connectionString: string;
}

export interface AppWorkerEnv {
  BUCKET: R2Bucket;
  HYPERDRIVE?: HyperdriveBinding;
  DATABASE_URL?: string;
  TAILOR_URL_SECRET?: string;
  ADMIN_TOKEN?: string;
  /** Every other string var is read by loadConfig. */
  [name: string]: unknown;
}

/** Connections one request may open (a Worker may hold 6 at once, R2 reads included). */
const DB_CONNECTIONS_PER_REQUEST = 4;

class Misconfigured extends Error {
  override name = 'Misconfigured';
}

function settings(env: AppWorkerEnv) {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') vars[k] = v;
  const databaseUrl = env.HYPERDRIVE?.connectionString ?? vars.DATABASE_URL;
  if (!databaseUrl) {
    throw new Misconfigured('no database: bind Hyperdrive as HYPERDRIVE, or set the DATABASE_URL secret');
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...WORKERS_DEFAULTS, ...vars, DATABASE_URL: databaseUrl });
  } catch (e) {
    if (e instanceof ConfigError) throw new Misconfigured(e.message);
    throw e;
  }
  if (!config.urlSecret) {
    throw new Misconfigured(
      'TAILOR_URL_SECRET must be set (at least 16 characters, e.g. `wrangler secret put TAILOR_URL_SECRET`): ' +
        'it signs download links, and every isolate must use the same one',
    );
  }
  return { config, databaseUrl, urlSecret: config.urlSecret };
}

const getApp = perIsolate(async (env: AppWorkerEnv) => {
  const { config, databaseUrl, urlSecret } = settings(env);
  if (!env.BUCKET) throw new Misconfigured('no storage: bind an R2 bucket as BUCKET');
  const databases = new RequestScopedDb(() =>
    connectPostgres(databaseUrl, { max: DB_CONNECTIONS_PER_REQUEST }),
  );
  const store = new R2Store(env.BUCKET);
  const engine = await Engine.load(
    store,
    { id: config.baseModel, prefix: `models/${config.baseModel}/` },
    {
      adapterCacheBytes: config.engine.adapterCacheBytes,
      ...servingOptions(config.engine),
      // A package uploaded with wrangler has no marker: its weights' hash is the one recorded in the database
      // (infra/workers/prepare.ts), asked at the first adapter load, inside a request.
      baseHash: async (id) => (await getBaseModel(databases.db, id))?.hash,
    },
  );
  const { app } = createApp({
    baseLimit: WORKERS_BASE_LIMIT,
    db: databases.db,
    store,
    engine,
    baseModelId: config.baseModel,
    config,
    urlSecret,
    invalidations: { mode: 'per-request' },
    onError: (e) => console.error('[tailor]', e),
  });
  return { app, databases };
});

function unavailable(message: string): Response {
  return new Response(JSON.stringify({ error: { code: 'unavailable', message } }), {
    status: 503,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/** Calls `done` once the response body has been sent (or abandoned); the response itself is unchanged. */
function whenSent(res: Response, ctx: ExecutionContext, done: () => Promise<void>): Response {
  if (!res.body) {
    ctx.waitUntil(done());
    return res;
  }
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  ctx.waitUntil(
    res.body
      .pipeTo(writable)
      .catch(() => {}) // the client left: nothing to do but release
      .then(done),
  );
  return new Response(readable, res);
}

export default {
  async fetch(req: Request, env: AppWorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let built: Awaited<ReturnType<typeof getApp>>;
    try {
      built = await getApp(env);
    } catch (e) {
      console.error('[tailor] the app could not start:', e);
      if (e instanceof Misconfigured) return unavailable(`the Worker is misconfigured: ${e.message}`);
      return unavailable(`the app could not start: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`);
    }
    const { app, databases } = built;
    return databases.run(async (lease) => {
      let res: Response;
      try {
        res = await app.fetch(req, env, ctx);
      } catch (e) {
        ctx.waitUntil(lease.release());
        throw e;
      }
      return whenSent(res, ctx, () => lease.release());
    });
  },
};
