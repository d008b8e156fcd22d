// `tailor worker`: a training worker in a process of its own (PostgreSQL + S3 in production, so GPU machines
// can be added). It needs the base model locally: the package is downloaded from storage into
// TAILOR_DATA_DIR/worker-cache when missing. Set TAILOR_SCHEDULE=0 on extra workers to leave the interval
// cycles to one of them (several schedulers are safe, just redundant).

import { checkPlatformSecret } from '../../core/db/platform-meta.js';
import { loadNodeConfig } from '../../core/node/config.js';
import { openBlobStore, openDatabase } from '../../core/node/open.js';
import { platformSecret } from '../../core/node/secret-file.js';
import { startTraining } from '../../gpu-worker/runtime.js';

export async function runStandaloneWorker(env: Record<string, string | undefined>): Promise<void> {
  const config = loadNodeConfig(env);
  if (config.database.driver === 'pglite') {
    console.error(
      'tailor worker: no DATABASE_URL; using PGlite in TAILOR_DATA_DIR (only one process may open it: stop the API first)',
    );
  }
  const database = await openDatabase(config.database);
  const store = openBlobStore(config.storage);
  const schedule = config.worker.schedule;
  // The same secret as the API processes: it keys the hash erased users are known by.
  const secret = platformSecret(config);
  await checkPlatformSecret(database.db, secret);
  const training = startTraining({ db: database.db, store, config, schedule, platformSecret: secret });
  console.log(
    `tailor worker ${training.worker.workerId}: base model ${config.baseModel}, ${
      schedule && config.training.intervalS > 0
        ? `cycles every ${config.training.intervalS} s`
        : 'no interval cycles'
    }`,
  );
  const stop = async (signal: string) => {
    console.log(`${signal}: stopping the worker (a running job goes back to the queue)…`);
    await training.stop();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
