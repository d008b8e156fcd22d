// What the HTTP app is built from. Each runtime entry (Node, Workers) wires its own parts in; the app itself
// imports no runtime.
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/database.js';
import type { CheckpointFiles } from '../core/model/hf-checkpoint.js';
import type { BlobStore } from '../core/storage/store.js';
import type { TrainingControl } from '../core/training/control.js';
import type { InferenceEngine } from '../engine/index.js';

/** Static files the platform serves itself (the API reference's scripts, the console), by relative path. */
export interface StaticAssets {
  get(path: string): Promise<{ body: Uint8Array; type: string } | null>;
}

export interface AppDeps {
  db: Db;
  store: BlobStore;
  /** Inference: the engine in this thread, or a pool of engines in worker threads. */
  engine: InferenceEngine;
  /** Id of the base model the engine serves (`brown-4m`). */
  baseModelId: string;
  config: Readonly<Config>;
  /**
   * The platform's secret: signs download links the app serves itself (stores without their own signed URLs)
   * and keys the hash erased users are known by (core/erasure/user-hash.ts). Every process of one database
   * shares it.
   */
  urlSecret: string;
  /**
   * How this process hears of what was changed in the database (core/db/invalidations.ts), by other processes
   * or beside the API in this one (a training worker's promotions): `background` polls (and listens, given
   * `listen`: PostgreSQL's NOTIFY, or PGlite's within its instance) from `start()` on; `per-request` looks before
   * a request when the last look is older than the poll interval (Workers); `off`: hears nothing. Default off.
   */
  invalidations?:
    | { mode: 'background'; listen?: (onNotice: () => void) => Promise<() => Promise<void>> }
    | { mode: 'per-request' }
    | { mode: 'off' };
  training?: TrainingControl;
  /**
   * The largest base graph this runtime loads, and why (Workers: runtime/workers/limits.ts). A request naming a
   * base above it is refused with the arithmetic. Absent: no limit (Node: the machine's memory decides).
   */
  baseLimit?: { maxGraphBytes: number; why: string };
  /**
   * Checkpoint directories on this machine (Node): `resolve` gives the real path of one under the configured
   * import roots or throws naming why not; `fromPath` lists it for the strict reader. Absent (Workers): imports
   * come from storage only.
   */
  checkpoints?: {
    resolve(path: string): Promise<string>;
    fromPath(path: string): Promise<CheckpointFiles>;
  };
  /** Where absent (Workers serve these files as static assets), their routes answer 404. */
  assets?: StaticAssets;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Called with errors that became 500s. */
  onError?: (err: unknown) => void;
}
