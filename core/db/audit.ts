// The audit log: who did what, when, to which app and subject. Written by the API as each action succeeds;
// an erasure keeps only the fact of it (the user id, no content).
import { and, desc, eq, type SQL } from 'drizzle-orm';
import { type AuditEntry, type AuditSubjectKind, auditLog } from '../../schema/tables.js';
import type { Db } from './database.js';
import { newId } from './ids.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

/** What an entry is about, with its kind: a user id and a key id may be spelled alike. */
export interface AuditSubject {
  kind: AuditSubjectKind;
  id: string;
}

export interface AuditInput {
  actor: string;
  action: string;
  appId?: string | null;
  subject?: AuditSubject | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Db, e: AuditInput): Promise<AuditEntry> {
  const [row] = await db
    .insert(auditLog)
    .values({
      id: newId('aud'),
      actor: e.actor,
      action: e.action,
      appId: e.appId ?? null,
      subject: e.subject?.id ?? null,
      subjectKind: e.subject?.kind ?? null,
      details: e.details ?? {},
    })
    .returning();
  if (!row) throw new Error('insert into audit_log returned no row');
  return row;
}

export async function listAudit(
  db: Db,
  where: { appId?: string; action?: string } = {},
  page: PageRequest = {},
): Promise<Page<AuditEntry>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        where.appId === undefined ? undefined : eq(auditLog.appId, where.appId),
        where.action === undefined ? undefined : eq(auditLog.action, where.action),
        afterCursor(auditLog.at, auditLog.id, page) as SQL | undefined,
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ createdAt: r.at, id: r.id }));
}
