// What the HTTP app is built from. Each runtime entry (Node, Workers) wires its own parts in; the app itself
// imports no runtime.
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import type { Engine } from './engine/engine.js';
import type { BlobStore } from './storage/store.js';

export interface TrainingRun {
  app?: string;
  users?: string[];
  wait: boolean;
}

/** The worker's handle, where one runs in (or is reachable from) this process. */
export interface TrainingControl {
  /** Enqueues a training cycle now; with `wait`, resolves when its jobs have finished. Returns job ids. */
  runCycle(run: TrainingRun): Promise<string[]>;
}

export interface AppDeps {
  db: Db;
  store: BlobStore;
  engine: Engine;
  /** Id of the base model the engine serves (`brown-4m`). */
  baseModelId: string;
  config: Readonly<Config>;
  /** Signs download links the app serves itself (stores without their own signed URLs). */
  urlSecret: string;
  training?: TrainingControl;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Called with errors that became 500s. */
  onError?: (err: unknown) => void;
}
