// Prepares the database (and optionally the bucket) the app Worker serves from. Runs on Node, from a
// laptop or CI, before each deploy: the Worker itself never migrates.
//
//   DATABASE_URL=postgres://… npx tsx infra/workers/prepare.ts
//
// 1. Applies the migrations not yet applied (core/db/migrate.ts: one transaction under an advisory
//    lock, so a concurrent Node process or a second run waits and then does nothing).
// 2. Records the base model TAILOR_BASE_MODEL (default brown-4m) in the database: the hash of its weights and
//    its config, which training (style adapters, `tailor worker`) reads. With S3_ENDPOINT, S3_BUCKET and keys
//    set to R2's S3 API (https://<account>.r2.cloudflarestorage.com, an R2 API token), it also uploads the
//    package from models/<id>/ to the bucket, as the Node entry does (skipped when already there). Without
//    them, upload the files with `wrangler r2 object put` (infra/workers/README.md).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { upsertBaseModel } from '../../core/db/base-models.js';
import type { Db } from '../../core/db/database.js';
import { migrate } from '../../core/db/migrate.js';
import { openPostgres } from '../../core/db/postgres.js';
import { publishBaseModel } from '../../core/node/base-model.js';
import { loadNodeConfig } from '../../core/node/config.js';
import { openBlobStore } from '../../core/node/open.js';
import type { BlobStore } from '../../core/storage/store.js';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const MODELS_DIR = join(repoRoot, 'models');

export interface Prepared {
  /** Tags of the migrations applied now (empty when the database was up to date). */
  applied: string[];
  /** The base model as recorded: its storage prefix and weights hash. */
  model: { id: string; prefix: string; hash: string; uploaded: boolean };
}

/**
 * Migrates `db` and records the base model `id` (package in `modelsDir/<id>/`). With `store`, the package
 * is also uploaded there when missing (publishBaseModel); without, only the database row is written.
 */
export async function prepareDatabase(
  db: Db,
  opts: { modelsDir?: string; id: string; store?: BlobStore },
): Promise<Prepared> {
  const { applied } = await migrate(db);
  const modelsDir = opts.modelsDir ?? MODELS_DIR;
  if (opts.store) {
    const published = await publishBaseModel(opts.store, db, modelsDir, opts.id);
    return { applied, model: { id: opts.id, ...published } };
  }
  const dir = join(modelsDir, opts.id);
  const hash = createHash('sha256')
    .update(await readFile(join(dir, 'model.safetensors')))
    .digest('hex');
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const prefix = `models/${opts.id}/`;
  await upsertBaseModel(db, { id: opts.id, storagePrefix: prefix, hash, config });
  return { applied, model: { id: opts.id, prefix, hash, uploaded: false } };
}

async function main(): Promise<void> {
  const config = loadNodeConfig();
  if (config.database.driver !== 'postgres') {
    console.error(
      'set DATABASE_URL to the PostgreSQL database the Worker uses (Hyperdrive points at it too)',
    );
    process.exit(2);
  }
  const bucket = config.storage.driver === 's3' ? config.storage.bucket : null;
  const store = bucket ? openBlobStore(config.storage) : undefined;
  const database = openPostgres(config.database.url, { max: 1 });
  try {
    const r = await prepareDatabase(database.db, { id: config.baseModel, ...(store ? { store } : {}) });
    console.log(
      `migrations: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}\n` +
        `base model: ${r.model.id} recorded (weights ${r.model.hash.slice(0, 12)}…), ` +
        (bucket
          ? `package ${r.model.uploaded ? 'uploaded to' : 'already in'} bucket ${bucket} under ${r.model.prefix}`
          : `not uploaded (no S3_* settings): put its files under ${r.model.prefix} in the R2 bucket`),
    );
  } finally {
    await database.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
