// Keyset pagination, newest first, over (created_at, id). The cursor is opaque to clients: base64url of
// the last row's created_at (millisecond ISO; the columns have millisecond precision) and id.

import { type AnyColumn, type SQL, sql } from 'drizzle-orm';
import { base64UrlDecode, base64UrlEncode } from '../util/encoding.js';
import { RepoError } from './errors.js';

export interface PageRequest {
  /** 1..200, default 50. */
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return base64UrlEncode(new TextEncoder().encode(`${c.createdAt.toISOString()}|${c.id}`));
}

const ISO_MS = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(cursor: string): Cursor {
  try {
    const bytes = base64UrlDecode(cursor);
    if (!bytes) throw new Error('bad cursor');
    const raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const bar = raw.indexOf('|');
    const createdAt = new Date(raw.slice(0, bar));
    const id = raw.slice(bar + 1);
    // Only what encodeCursor writes: a time PostgreSQL can read back (no year 0, none past 9999, as
    // toISOString writes them) and an id of printable ASCII (ids are; no NUL, which PostgreSQL refuses).
    if (bar < 0 || !ISO_MS.test(raw.slice(0, bar)) || Number.isNaN(createdAt.getTime()))
      throw new Error('bad cursor');
    if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new RepoError('invalid_cursor', 'invalid pagination cursor');
  }
}

export function pageLimit(req: PageRequest): number {
  const n = req.limit ?? DEFAULT_PAGE_LIMIT;
  return Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.trunc(n)));
}

/** The WHERE condition for rows after the cursor (older), or undefined on the first page. */
export function afterCursor(createdAt: AnyColumn, id: AnyColumn, req: PageRequest): SQL | undefined {
  if (!req.cursor) return undefined;
  const c = decodeCursor(req.cursor);
  return sql`(${createdAt}, ${id}) < (${c.createdAt.toISOString()}::timestamptz, ${c.id})`;
}

/** Cuts a result fetched with `limit + 1` rows into a page. */
export function toPage<T>(rows: T[], limit: number, key: (row: T) => Cursor): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}
