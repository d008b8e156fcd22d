// The database on Workers: PostgreSQL through postgres.js, one small pool per request.
//
// workerd ties every socket to the request whose handler opened it: another request may not use it
// ("Cannot perform I/O on behalf of a different request"). A postgres.js pool built once per isolate would
// fail from the second request on. The app, however, is built once per isolate (the engine with its model,
// rate limits, metrics, caches) and holds one `Db`. So that `Db` is a stand-in: every property read is
// forwarded to the drizzle database of the request running now, found through AsyncLocalStorage
// (`node:async_hooks`, which workerd provides with the `nodejs_compat` flag) and opened on its first use
// in that request. The entry releases the request's pool once the response, body included, is done.
//
// Connections are cheap behind Hyperdrive (it pools them next to the database); with a plain DATABASE_URL
// every request that touches the database pays for a TCP connection and authentication.
import { AsyncLocalStorage } from 'node:async_hooks';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { CURRENT_DB, type Db } from '../../core/db/database.js';
import * as tables from '../../schema/tables.js';

export interface Connection {
  db: Db;
  /** Ends the pool after the queries already queued have finished. */
  end(): Promise<void>;
}

/**
 * A postgres.js pool for one request. `max` connections (the routes run a few queries at once; a
 * Worker may hold 6 connections open at a time, R2 reads included); `prepare: false` (unnamed
 * statements: nothing to gain from named ones on a connection that lives for one request, and safe
 * behind transaction poolers); `fetch_types: false` (no extra round trip per connection to read array
 * type OIDs: the schema has no array columns).
 */
export function connectPostgres(url: string, opts: { max?: number } = {}): Connection {
  const client = postgres(url, {
    max: opts.max ?? 4,
    prepare: false,
    fetch_types: false,
    connect_timeout: 10,
    onnotice: () => {},
  });
  return {
    db: drizzle(client, { schema: tables }) as unknown as Db,
    end: () => client.end({ timeout: 5 }),
  };
}

/** The database of one request: opened on first use, released once. */
export interface DbLease {
  /** Ends the request's pool, if it opened one (queued queries finish first). Later uses throw. */
  release(): Promise<void>;
}

class Lease implements DbLease {
  private connection: Connection | null = null;
  private released = false;

  constructor(private readonly connect: () => Connection) {}

  db(): Db {
    if (this.released) throw new Error('the database was used after its request finished');
    this.connection ??= this.connect();
    return this.connection.db;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const c = this.connection;
    this.connection = null;
    await c?.end();
  }
}

export class RequestScopedDb {
  private readonly scope = new AsyncLocalStorage<Lease>();
  /** The stand-in `Db` to build the app with: valid only inside `run`. */
  readonly db: Db;

  constructor(private readonly connect: () => Connection) {
    const current = (): Db => {
      const lease = this.scope.getStore();
      if (!lease) throw new Error('the database was used outside a request');
      return lease.db();
    };
    this.db = new Proxy({} as Db, {
      get(_target, prop) {
        const db = current();
        if (prop === CURRENT_DB) return db; // what prepared queries key on: this request's database
        const value: unknown = Reflect.get(db, prop, db);
        return typeof value === 'function' ? value.bind(db) : value;
      },
      has: (_target, prop) => prop in current(),
      getPrototypeOf: () => Object.getPrototypeOf(current()),
    });
  }

  /** Runs `fn` as one request: its uses of `db` share one pool, which `lease.release()` ends. */
  run<T>(fn: (lease: DbLease) => Promise<T>): Promise<T> {
    const lease = new Lease(this.connect);
    return this.scope.run(lease, () => fn(lease));
  }
}
