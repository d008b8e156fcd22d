// Feedback: ratings and corrections, the training data of a user's adapter.
//
// Idempotency: a key is unique per (app, user) (partial unique index): users of one app never collide, and
// none learns which keys another used. The insert does ON CONFLICT DO NOTHING;
// when it inserted nothing, the row that holds the key is read back. Under concurrency the losing
// insert waits for the winner's commit, so the read finds it: one row, whoever asked first.

import { and, asc, count, desc, eq, gt, isNotNull, or, sql } from 'drizzle-orm';
import { endUsers, type Feedback, feedback, type NewFeedback } from '../../schema/tables.js';
import { type Db, underlyingDb } from './database.js';
import { newId } from './ids.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

export type FeedbackInput = Omit<NewFeedback, 'id' | 'createdAt'>;

/**
 * Usable feedback trains something: a like, or any item that carries the user's own correction (a dislike
 * without an edit does not). One rule, in the two forms its users need: SQL for counting due users, a predicate
 * for building datasets; a test checks they agree.
 */
export const usableFeedback = or(eq(feedback.rating, 1), isNotNull(feedback.editedText));
export function isUsableFeedback(f: { rating: number; editedText: string | null }): boolean {
  return f.rating === 1 || f.editedText !== null;
}

/**
 * A feedback row whose user did not opt out of training: only such rows personalize anything (adapters are
 * trained from them, memory recalls them).
 */
export const ownerNotOptedOut = sql`not exists (select 1 from ${endUsers} where ${endUsers.appId} = ${feedback.appId} and ${endUsers.userId} = ${feedback.userId} and ${endUsers.trainingOptOutAt} is not null)`;

export interface FeedbackInsert {
  feedback: Feedback;
  /** false when the idempotency key was seen before: `feedback` is the earlier row, unchanged. */
  created: boolean;
}

/**
 * The insert of every POST /v1/feedback, built once per database handle and prepared: drizzle builds its SQL
 * once, not per request, and on PostgreSQL the statement is parsed and planned once per connection (an
 * unprepared query with parameters costs postgres.js two round trips: Parse + Describe for the parameter
 * types, then Bind + Execute).
 */
function prepareInsert(db: Db) {
  const p = (name: keyof FeedbackInput | 'id') => sql.placeholder(name);
  return db
    .insert(feedback)
    .values({
      id: p('id'),
      appId: p('appId'),
      userId: p('userId'),
      generationId: p('generationId'),
      prompt: p('prompt'),
      text: p('text'),
      rating: p('rating'),
      editedText: p('editedText'),
      idempotencyKey: p('idempotencyKey'),
    })
    .onConflictDoNothing({
      target: [feedback.appId, feedback.userId, feedback.idempotencyKey],
      where: sql`${feedback.idempotencyKey} is not null`,
    })
    .returning()
    .prepare('tailor_insert_feedback');
}
const inserts = new WeakMap<Db, ReturnType<typeof prepareInsert>>();

export async function insertFeedback(db: Db, input: FeedbackInput): Promise<FeedbackInsert> {
  const on = underlyingDb(db); // on Workers, this request's database, not the isolate's stand-in
  let insert = inserts.get(on);
  if (!insert) {
    insert = prepareInsert(on);
    inserts.set(on, insert);
  }
  // Every column of FeedbackInput (one added to the table fails to compile here: add it to prepareInsert too).
  const values: { [K in keyof Required<FeedbackInput>]: unknown } & { id: string } = {
    id: newId('fb'),
    appId: input.appId,
    userId: input.userId,
    generationId: input.generationId ?? null,
    prompt: input.prompt ?? null,
    text: input.text,
    rating: input.rating,
    editedText: input.editedText ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
  };
  const [row] = await insert.execute(values);
  if (row) return { feedback: row, created: true };
  if (input.idempotencyKey == null)
    throw new Error('feedback insert without idempotency key returned no row');
  const [existing] = await db
    .select()
    .from(feedback)
    .where(
      and(
        eq(feedback.appId, input.appId),
        eq(feedback.userId, input.userId),
        eq(feedback.idempotencyKey, input.idempotencyKey),
      ),
    )
    .limit(1);
  if (!existing) throw new Error('feedback idempotency conflict but no row holds the key');
  return { feedback: existing, created: false };
}

export async function listFeedback(
  db: Db,
  where: { appId: string; userId?: string },
  page: PageRequest = {},
): Promise<Page<Feedback>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(feedback)
    .where(
      and(
        eq(feedback.appId, where.appId),
        where.userId === undefined ? undefined : eq(feedback.userId, where.userId),
        afterCursor(feedback.createdAt, feedback.id, page),
      ),
    )
    .orderBy(desc(feedback.createdAt), desc(feedback.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => r);
}

/** All of a user's feedback, oldest first (a training data set), optionally only what came after `since`. */
export async function feedbackForTraining(
  db: Db,
  where: { appId: string; userId: string; since?: Date | null },
): Promise<Feedback[]> {
  return db
    .select()
    .from(feedback)
    .where(
      and(
        eq(feedback.appId, where.appId),
        eq(feedback.userId, where.userId),
        where.since ? gt(feedback.createdAt, where.since) : undefined,
      ),
    )
    .orderBy(asc(feedback.createdAt), asc(feedback.id));
}

export async function countFeedbackSince(
  db: Db,
  where: { appId: string; userId: string; since?: Date | null },
): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(feedback)
    .where(
      and(
        eq(feedback.appId, where.appId),
        eq(feedback.userId, where.userId),
        where.since ? gt(feedback.createdAt, where.since) : undefined,
      ),
    );
  return row?.n ?? 0;
}
