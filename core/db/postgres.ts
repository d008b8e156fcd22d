// PostgreSQL through postgres.js (TCP on Node; on Workers through their TCP sockets). Production's driver.

import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as tables from '../../schema/tables.js';
import type { Database, Db } from './database.js';

export interface PostgresOptions {
  /** Connections in the pool (postgres.js default 10). Workers want 1 or a few. */
  max?: number;
  /** Seconds to wait for a connection (postgres.js default 30); then the query fails as unavailable. */
  connectTimeoutS?: number;
}

export function openPostgres(url: string, opts: PostgresOptions = {}): Database {
  const client = postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutS ?? 30,
    onnotice: () => {},
  });
  const db = drizzle(client, { schema: tables }) as unknown as Db;
  return {
    db,
    driver: 'postgres',
    // postgres.js keeps one connection of its own for LISTEN and re-listens after a reconnect.
    async listen(channel, onNotify) {
      const { unlisten } = await client.listen(channel, () => onNotify());
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}
