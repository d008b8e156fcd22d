// The whole API in this process, without a port: PGlite (in memory or on disk, migrated), an in-memory store
// holding the shipped base model, the real engine in this thread, the app. Requests go through app.request().
// The app hears the database's invalidation notices as `npm start` does (PGlite's LISTEN), so a version a
// training worker promotes against this database is what the next request gets.
// The route tests build on it (test/support/platform.ts), and so do benchmarks that train through the real
// worker without starting a server (bench/peft.ts).
import { type Config, loadConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import { INVALIDATION_CHANNEL } from '../../core/db/invalidations.js';
import { migrate } from '../../core/db/migrate.js';
import { publishBaseModel } from '../../core/node/base-model.js';
import { openPglite } from '../../core/node/pglite.js';
import { MODELS_DIR } from '../../core/node/repo.js';
import { MemoryStore } from '../../core/storage/memory-store.js';
import { Engine, servingOptions } from '../../engine/index.js';
import { createApp } from '../../functions/app.js';
import { nodeAssets } from './assets.js';

export interface InProcessPlatform {
  app: ReturnType<typeof createApp>['app'];
  services: ReturnType<typeof createApp>['services'];
  config: Config;
  database: Database;
  store: MemoryStore;
  engine: Engine;
  close(): Promise<void>;
}

/** `env`: settings as `npm start` reads them; `dataDir`: PGlite on disk there (default: in memory). */
export async function startInProcess(
  env: Record<string, string>,
  opts: { dataDir?: string; onError?: (e: unknown) => void } = {},
): Promise<InProcessPlatform> {
  const config = loadConfig(env);
  const database = await openPglite(opts.dataDir ? { dataDir: opts.dataDir } : {});
  await migrate(database.db);
  const store = new MemoryStore();
  const model = await publishBaseModel(store, database.db, MODELS_DIR, config.baseModel);
  const engine = await Engine.load(
    store,
    { id: config.baseModel, prefix: model.prefix, hash: model.hash },
    servingOptions(config.engine),
  );
  const { app, services } = createApp({
    db: database.db,
    store,
    engine,
    baseModelId: config.baseModel,
    config,
    urlSecret: 'url-secret-in-process',
    assets: nodeAssets(),
    invalidations: {
      mode: 'background',
      listen: (onNotice) => database.listen(INVALIDATION_CHANNEL, onNotice),
    },
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  await services.invalidator.start();
  const close = async () => {
    await services.invalidator.stop();
    await database.close();
  };
  return { app, services, config, database, store, engine, close };
}
