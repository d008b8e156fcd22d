// Tailor on Node with embedded defaults: PGlite and a local storage directory under TAILOR_DATA_DIR, the
// shipped base model, the API on PORT. `npm start` runs this (after its setup).
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Compactor } from '../../core/db/compaction.js';
import { INVALIDATION_CHANNEL } from '../../core/db/invalidations.js';
import { checkPlatformSecret } from '../../core/db/platform-meta.js';
import { publishBaseModel } from '../../core/node/base-model.js';
import { localCheckpoints } from '../../core/node/checkpoint-files.js';
import { loadNodeConfig } from '../../core/node/config.js';
import { openBlobStore, openDatabase } from '../../core/node/open.js';
import { MODELS_DIR } from '../../core/node/repo.js';
import { platformSecret } from '../../core/node/secret-file.js';
import { nodeWebhookFetch } from '../../core/node/webhook-fetch.js';
import { WebhookDeliverer } from '../../core/webhooks/deliverer.js';
import { Engine, servingOptions, setSessionFactory } from '../../engine/index.js';
import { createApp } from '../../functions/app.js';
import { startTraining } from '../../gpu-worker/runtime.js';
import { TrainingScheduler } from '../../gpu-worker/scheduler.js';
import { nodeAssets } from './assets.js';
import { EnginePool } from './engine-pool.js';
import { nativeSessions } from './native-runtime.js';

async function main(): Promise<void> {
  const generatedAdmin = process.env.ADMIN_TOKEN ? undefined : `adm_${randomBytes(24).toString('base64url')}`;
  const config = loadNodeConfig({
    ...process.env,
    ...(generatedAdmin ? { ADMIN_TOKEN: generatedAdmin } : {}),
  });
  const t0 = performance.now();
  const database = await openDatabase(config.database);
  // Download links stay valid across restarts: the secret is kept in the data dir unless it is set.
  const secret = platformSecret(config);
  await checkPlatformSecret(database.db, secret);
  const store = openBlobStore(config.storage);
  const model = await publishBaseModel(store, database.db, MODELS_DIR, config.baseModel);
  // The base the engine serves, with the weights' hash adapter packages must name (known from publishing).
  const base = { id: config.baseModel, prefix: model.prefix, hash: model.hash };
  const threads = config.engine.threads === 'auto' ? availableParallelism() : config.engine.threads;
  // The native lane on the HTTP thread too (ENGINE_THREADS=0); engine threads set it in their own module.
  if (threads === 0 && config.engine.runtime === 'native')
    setSessionFactory(nativeSessions(config.engine.intraThreads));
  const engine =
    threads > 0
      ? await EnginePool.start({
          threads,
          store,
          storage: config.storage,
          bases: [base],
          adapterCacheBytes: config.engine.adapterCacheBytes,
          serving: servingOptions(config.engine),
          ...(config.engine.runtime === 'native'
            ? { native: { intraThreads: config.engine.intraThreads } }
            : {}),
          log: (line) => console.log(line),
        })
      : await Engine.load(store, base, {
          adapterCacheBytes: config.engine.adapterCacheBytes,
          ...servingOptions(config.engine),
        });
  // The invalidation feed's notices (core/db/invalidations.ts): what any process changed, this one included.
  // PGlite hears its own instance's; PostgreSQL every process's, unless a pooler drops them
  // (TAILOR_INVALIDATION_LISTEN=0: polling alone).
  const listenable =
    database.driver === 'pglite' || config.invalidations.listen ? database.listen?.bind(database) : undefined;
  const listen = listenable
    ? (onNotice: () => void) => listenable(INVALIDATION_CHANNEL, onNotice)
    : undefined;
  // Webhook deliveries (the outbox the promotions write) go out from here unless WEBHOOKS_DELIVER=0; any number
  // of processes may deliver from one database. A promotion's notice wakes the deliverer, whoever promoted.
  const webhooks = config.webhooks.deliver
    ? new WebhookDeliverer({
        db: database.db,
        config: config.webhooks,
        // Connects only to the addresses it checked: a name that resolves inside is refused.
        fetch: nodeWebhookFetch({ allowPrivate: config.webhooks.allowPrivateUrls }),
        ...(listen ? { listen } : {}),
        log: (line) => console.log(line),
      })
    : null;
  // The training worker runs in this process unless TAILOR_WORKER=0 (workers of their own: `tailor worker`);
  // then training runs asked for here are only enqueued, for them.
  const training = config.worker.inProcess
    ? startTraining({
        db: database.db,
        store,
        config,
        schedule: config.worker.schedule,
        platformSecret: secret,
        localModelDirs: { [config.baseModel]: join(MODELS_DIR, config.baseModel) },
      })
    : null;
  const control =
    training?.scheduler ??
    new TrainingScheduler({ db: database.db, baseModel: config.baseModel, policy: config.training });
  const { app, services } = createApp({
    db: database.db,
    store,
    engine,
    baseModelId: config.baseModel,
    config,
    training: control,
    checkpoints: localCheckpoints(config.imports.roots),
    assets: nodeAssets(),
    urlSecret: secret,
    // What other processes (and this one's training worker) change in the database drops from this one's
    // caches on its notice, or at the next poll.
    invalidations: { mode: 'background', ...(listen ? { listen } : {}) },
    onError: (e) => console.error('[tailor]', e),
  });
  await services.invalidator.start();
  // The embedded database has no autovacuum: what erasures leave is compacted here, in the background.
  const compactor =
    database.driver === 'pglite'
      ? new Compactor(database.db, { intervalMs: config.compaction.intervalMs, log: (l) => console.log(l) })
      : null;
  compactor?.start();
  webhooks?.start();
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  // Requests in flight (a stream counts until its last byte): what a graceful stop waits for.
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
  });
  const drained = async (ms: number) => {
    for (const until = Date.now() + ms; inFlight > 0 && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 25));
  };
  const url = `http://${config.host}:${config.port}`;
  const ms = Math.round(performance.now() - t0);
  const where =
    config.database.driver === 'pglite'
      ? `PGlite in ${join(config.dataDir, 'pglite')}`
      : 'PostgreSQL (DATABASE_URL)';
  const files =
    config.storage.driver === 'file'
      ? `directory ${config.storage.root}`
      : `S3 bucket ${config.storage.bucket}`;
  console.log(`
Tailor is running on ${url}  (ready in ${ms} ms)
  database   ${where}
  storage    ${files}
  model      ${config.baseModel} (${model.uploaded ? 'published to storage now' : 'already in storage'}), decoded ${threads > 0 ? `by ${threads} engine thread${threads > 1 ? 's' : ''}` : 'on the HTTP thread'} on ${config.engine.runtime === 'native' ? `onnxruntime-node (${config.engine.intraThreads} intra-op thread${config.engine.intraThreads > 1 ? 's' : ''} each)` : 'onnxruntime-web (wasm)'}
  webhooks   ${webhooks ? `delivered from this process (up to ${config.webhooks.maxAttempts} attempts each)` : 'not delivered by this process (WEBHOOKS_DELIVER=0)'}
  training   ${training ? `worker in this process; ${config.training.intervalS > 0 ? `a cycle every ${config.training.intervalS} s` : 'cycles on demand only'} (POST /admin/training/run)` : 'jobs queued for separate workers (TAILOR_WORKER=0; run `npm run tailor -- worker`)'}
  console    ${url}/console/   (sign in with the admin token below)
  example    ${url}/example/   (a reader's page on the SDK: server or on-device generation)
  docs       ${url}/docs   ·  OpenAPI ${url}/openapi.json  ·  metrics ${url}/metrics
  admin      ${generatedAdmin ? `ADMIN_TOKEN=${generatedAdmin}  (generated for this run; set ADMIN_TOKEN to keep one)` : 'ADMIN_TOKEN from the environment'}

First request:
  KEY=$(curl -s -X POST ${url}/admin/apps -H "authorization: Bearer ${generatedAdmin ?? '$ADMIN_TOKEN'}" \\
        -H 'content-type: application/json' -d '{"name":"my-app"}' | sed -E 's/.*"api_key":"([^"]+)".*/\\1/')
  curl -s -X POST ${url}/v1/generate -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\
        -d '{"user":"reader-1","prompt":"The detective opened the door and","max_tokens":40}'
`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping (${inFlight} request(s) in flight)…`);
    // No new connections; what is in flight gets the grace period to finish. Streams still running then end
    // with an error event (the engine's threads stop), so no client is left waiting on silence.
    server.close();
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    await drained(config.shutdownGraceS * 1000);
    if (engine instanceof EnginePool) await engine.close();
    await drained(2000);
    if ('closeAllConnections' in server) server.closeAllConnections();
    await training?.stop();
    await webhooks?.stop();
    await compactor?.stop();
    await services.invalidator.stop();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
