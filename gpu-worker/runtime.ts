// Wires a worker loop and a scheduler from the platform's configuration: used by the Node entry (the worker
// in the API's process, the embedded default) and by `tailor worker` (a process of its own, e.g. on a GPU
// machine, against PostgreSQL and S3).
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/database.js';
import type { BlobStore } from '../core/storage/store.js';
import type { RecipeOverrides } from '../schema/training.js';
import { BaseModels } from './base-model.js';
import { TrainingScheduler } from './scheduler.js';
import { Worker, type WorkerOptions } from './worker.js';

export interface TrainingRuntimeOptions {
  db: Db;
  store: BlobStore;
  config: Readonly<Config>;
  /** Use these local package dirs instead of downloading (the API's process has the repository's models/). */
  localModelDirs?: Record<string, string>;
  /** Run the interval scheduler here (default true). */
  schedule?: boolean;
  recipe?: RecipeOverrides;
  worker?: Partial<Omit<WorkerOptions, 'db' | 'store' | 'baseModels'>>;
  log?: (line: string) => void;
  /** The platform's secret, the same the API processes use (runtime/node/platform-secret.ts). */
  platformSecret: string;
}

export interface TrainingRuntime {
  worker: Worker;
  scheduler: TrainingScheduler;
  stop(): Promise<void>;
}

/** The users' jobs' recipe: the configured method (TRAIN_METHOD) under the caller's overrides. */
function usersRecipe(config: Readonly<Config>, recipe?: RecipeOverrides): RecipeOverrides | undefined {
  const { method, prefixTokens } = config.training;
  if (method === 'lora') return recipe;
  return { method, ...recipe, prefix: { tokens: prefixTokens, ...recipe?.prefix } };
}

export function startTraining(o: TrainingRuntimeOptions): TrainingRuntime {
  const baseModels = new BaseModels({
    db: o.db,
    store: o.store,
    cacheDir: join(o.config.dataDir, 'worker-cache'),
    ...(o.localModelDirs ? { localDirs: o.localModelDirs } : {}),
  });
  const worker = new Worker({
    db: o.db,
    store: o.store,
    baseModels,
    trainer: {
      device: o.config.worker.device,
      threads: o.config.worker.threads,
      timeoutS: o.config.worker.trainTimeoutS,
      ...(o.config.worker.python ? { python: o.config.worker.python } : {}),
    },
    leaseSeconds: o.config.worker.leaseS,
    platformSecret: o.platformSecret,
    ...(o.log ? { log: o.log } : {}),
    ...o.worker,
  });
  const recipe = usersRecipe(o.config, o.recipe);
  const scheduler = new TrainingScheduler({
    db: o.db,
    baseModel: o.config.baseModel,
    policy: o.config.training,
    onEnqueued: () => worker.wake(),
    ...(recipe ? { recipe } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  worker.start();
  if (o.schedule !== false) scheduler.start();
  return {
    worker,
    scheduler,
    async stop() {
      scheduler.stop();
      await worker.stop();
    },
  };
}
