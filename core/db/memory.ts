// A user's memory: the texts they liked or wrote themselves (edits), searched at request time. Each feedback
// row carries a stored search vector (migration 0006: to_tsvector('english', edited text or text), made as the
// row arrives); a search ranks one app user's rows by ts_rank against the request's words, newest first among
// equals, so a request whose words match nothing still gets the user's latest passages.
import { and, desc, eq, sql } from 'drizzle-orm';
import { feedback } from '../../schema/tables.js';
import type { Db } from './database.js';
import { ownerNotOptedOut, usableFeedback } from './feedback.js';

export interface MemoryItem {
  /** The feedback item's id. */
  id: string;
  /** What the user kept: the edited text, else the liked text. */
  text: string;
  createdAt: Date;
  /** ts_rank against the query (0: no word matched). */
  rank: number;
}

/**
 * The words of `text` as a tsquery where any word may match (`w1 | w2 | …`), at most `maxWords` distinct
 * ones; '' when there are none. Only letters and digits pass, so the result is always valid tsquery syntax.
 */
export function anyWordQuery(text: string, maxWords = 32): string {
  const words = new Set<string>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    words.add(w);
    if (words.size >= maxWords) break;
  }
  return [...words].join(' | ');
}

/** The user's memory items most relevant to `query` (best first), at most `limit`, copies of one text once. */
export async function searchMemory(
  db: Db,
  o: { appId: string; userId: string; query: string; limit: number },
): Promise<MemoryItem[]> {
  const q = anyWordQuery(o.query);
  const rank = q
    ? sql<number>`ts_rank("feedback"."search", to_tsquery('english', ${q}))`
    : sql<number>`0::real`;
  const rows = await db
    .select({
      id: feedback.id,
      text: sql<string>`coalesce(${feedback.editedText}, ${feedback.text})`,
      createdAt: feedback.createdAt,
      rank,
    })
    .from(feedback)
    .where(and(eq(feedback.appId, o.appId), eq(feedback.userId, o.userId), usableFeedback, ownerNotOptedOut))
    .orderBy(desc(rank), desc(feedback.createdAt), desc(feedback.id))
    .limit(o.limit * 2);
  const seen = new Set<string>();
  const out: MemoryItem[] = [];
  for (const r of rows) {
    if (seen.has(r.text)) continue;
    seen.add(r.text);
    out.push({ ...r, rank: Number(r.rank) });
    if (out.length === o.limit) break;
  }
  return out;
}
