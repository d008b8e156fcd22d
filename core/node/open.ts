// Opens the database and the blob store the configuration names, on Node: PGlite in the data directory
// or PostgreSQL; the local directory store or S3. The database comes back migrated.

import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openPostgres } from '../db/postgres.js';
import { S3Store } from '../storage/s3-store.js';
import type { BlobStore } from '../storage/store.js';
import { FileStore } from './file-store.js';
import { openPglite } from './pglite.js';

export async function openDatabase(config: Config['database']): Promise<Database> {
  const database =
    config.driver === 'postgres'
      ? openPostgres(config.url, { connectTimeoutS: config.connectTimeoutS })
      : await openPglite({ dataDir: config.dataDir });
  try {
    await migrate(database.db);
  } catch (e) {
    await database.close();
    throw e;
  }
  return database;
}

export function openBlobStore(config: Config['storage']): BlobStore {
  if (config.driver === 'file') return new FileStore(config.root);
  return new S3Store({
    bucket: config.bucket,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    timeoutMs: config.timeoutMs,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
}
