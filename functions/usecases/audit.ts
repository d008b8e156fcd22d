// Writes an audit entry for what a caller just did: the admin, or an app through its key or a user token.
import { type AuditSubject, recordAudit } from '../../core/db/audit.js';
import type { Caller } from '../http/directory.js';
import type { Services } from '../http/services.js';

export interface AuditEntry {
  appId?: string | null;
  subject?: AuditSubject | null;
  details?: Record<string, unknown>;
}

/** The actor an audit entry names: `admin`, `app:<id>` or `user:<id>`. */
export const actorOf = (caller: Caller): string =>
  caller.kind === 'admin'
    ? 'admin'
    : caller.kind === 'app'
      ? `app:${caller.app.id}`
      : `user:${caller.userId}`;

export async function audit(
  s: Services,
  caller: Caller,
  action: string,
  entry: AuditEntry = {},
): Promise<void> {
  await recordAudit(s.db, { actor: actorOf(caller), action, ...entry });
}
