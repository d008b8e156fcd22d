// What the hostile-input suites share: JWTs signed (or forged) by hand, a fingerprint of everything stored (the
// rows of every table, their contents included, and the store's files), and a cheaper write counter (triggers
// on every table), each of which a refused request must leave as it was. Row counts alone miss an UPDATE and
// the tables they do not list; these miss neither.
import { createHmac } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { TestPlatform } from './platform.js';

export const b64 = (o: unknown) =>
  Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

/** A JWT signed HS256 with `secret` over whatever header and payload are given (nothing checked). */
export function jwt(payload: object, secret: string, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const h = b64(header);
  const body = b64(payload);
  return `${h}.${body}.${createHmac('sha256', secret).update(`${h}.${body}`).digest('base64url')}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** A valid user token of an app (its signing secret, its id as `kid`) for `sub`, for ten minutes. */
export const userToken = (sub: string, app: { app_id: string; signing_secret: string }, extra: object = {}) =>
  jwt({ sub, exp: nowS() + 600, ...extra }, app.signing_secret, {
    alg: 'HS256',
    typ: 'JWT',
    kid: app.app_id,
  });

interface TableInfo {
  name: string;
  /** The column naming the app a row belongs to (`id` of apps), if any. */
  appColumn: string | null;
}

const tablesOf = new WeakMap<TestPlatform, TableInfo[]>();

async function tables(p: TestPlatform): Promise<TableInfo[]> {
  const known = tablesOf.get(p);
  if (known) return known;
  const rows = (r: unknown) => (r as { rows: Record<string, string>[] }).rows;
  const names = rows(
    await p.database.db.execute(
      sql`select table_name as name from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    ),
  ).map((r) => r.name as string);
  const withApp = new Set(
    rows(
      await p.database.db.execute(
        sql`select table_name as name from information_schema.columns
            where table_schema = 'public' and column_name = 'app_id'`,
      ),
    ).map((r) => r.name as string),
  );
  // The embedded database's compaction debt (which tables to rewrite) is the platform's bookkeeping, no tenant's.
  const out = names
    .filter((name) => name !== 'compaction_debt')
    .map((name) => ({
      name,
      appColumn: name === 'apps' ? 'id' : withApp.has(name) ? 'app_id' : null,
    }));
  tablesOf.set(p, out);
  return out;
}

/**
 * Per table: its row count and a hash of every row; plus the store's files (keys and etags). With `appId`,
 * only what belongs to that app (rows with its app id, files under its folder) and the tables of no app.
 */
export async function fingerprint(
  p: TestPlatform,
  opts: { appId?: string } = {},
): Promise<Record<string, string>> {
  // One query for every table: a round trip costs more than the hashing.
  const parts = (await tables(p)).map((t) => {
    const where =
      opts.appId !== undefined && t.appColumn
        ? sql`where ${sql.identifier(t.appColumn)} = ${opts.appId}`
        : sql``;
    return sql`select ${t.name}::text as name, count(*)::int as n,
      coalesce(md5(string_agg(t::text, E'\n' order by t::text)), '') as h from ${sql.identifier(t.name)} t ${where}`;
  });
  const r = await p.database.db.execute(sql.join(parts, sql` union all `));
  const out: Record<string, string> = {};
  for (const row of (r as unknown as { rows: { name: string; n: number; h: string }[] }).rows)
    out[row.name] = `${row.n} ${row.h}`;
  const files = await p.store.list(opts.appId !== undefined ? `adapters/${opts.appId}/` : '');
  out['(store)'] = files
    .map((f) => `${f.key} ${f.etag ?? f.size}`)
    .sort()
    .join('\n');
  return out;
}

/**
 * Counts every row written (inserted, updated, deleted) in any table from now on, by triggers in a schema of
 * its own; the answer is that count with the store's files. One cheap query: for checking after every request.
 */
export async function watchWrites(p: TestPlatform): Promise<() => Promise<string>> {
  const db = p.database.db;
  await db.execute(sql.raw('create schema if not exists hostile_watch'));
  await db.execute(sql.raw('create table if not exists hostile_watch.writes (n bigint not null)'));
  await db.execute(
    sql.raw(
      'insert into hostile_watch.writes select 0 where not exists (select 1 from hostile_watch.writes)',
    ),
  );
  await db.execute(
    sql.raw(`create or replace function hostile_watch.count() returns trigger language plpgsql as $$
      begin update hostile_watch.writes set n = n + 1; return null; end $$`),
  );
  for (const t of await tables(p)) {
    const name = `"${t.name}"`;
    await db.execute(sql.raw(`drop trigger if exists hostile_watch_rows on ${name}`));
    await db.execute(sql.raw(`drop trigger if exists hostile_watch_truncate on ${name}`));
    await db.execute(
      sql.raw(`create trigger hostile_watch_rows after insert or update or delete on ${name}
        for each row execute function hostile_watch.count()`),
    );
    await db.execute(
      sql.raw(`create trigger hostile_watch_truncate after truncate on ${name}
        for each statement execute function hostile_watch.count()`),
    );
  }
  return async () => {
    const r = await db.execute(sql.raw('select n::text as n from hostile_watch.writes'));
    const n = (r as unknown as { rows: { n: string }[] }).rows[0]?.n;
    const files = (await p.store.list('')).map((f) => `${f.key} ${f.etag ?? f.size}`).sort();
    return `${n} writes; files: ${files.join(', ')}`;
  };
}
