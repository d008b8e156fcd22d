// Data retention an app chose (settings `retention`): generations and feedback older than so many days are
// deleted. 0 keeps them (the default). Feedback is the users' training data: deleting it is the app's choice.
import { and, eq, lt, sql } from 'drizzle-orm';
import { feedback, generations } from '../../schema/tables.js';
import type { Db } from './database.js';

const daysAgo = (days: number) => sql`now() - make_interval(days => ${days}::int)`;

export async function deleteExpired(
  db: Db,
  o: { appId: string; generationsDays: number; feedbackDays: number },
): Promise<{ generations: number; feedback: number }> {
  let gens = 0;
  let fb = 0;
  if (o.generationsDays > 0) {
    const rows = await db
      .delete(generations)
      .where(and(eq(generations.appId, o.appId), lt(generations.createdAt, daysAgo(o.generationsDays))))
      .returning({ id: generations.id });
    gens = rows.length;
  }
  if (o.feedbackDays > 0) {
    const rows = await db
      .delete(feedback)
      .where(and(eq(feedback.appId, o.appId), lt(feedback.createdAt, daysAgo(o.feedbackDays))))
      .returning({ id: feedback.id });
    fb = rows.length;
  }
  return { generations: gens, feedback: fb };
}
