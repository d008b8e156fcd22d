// Writes an audit entry for what the caller just did: the admin, or an app through its key or a user token.
import type { Context } from 'hono';
import { type AuditSubject, recordAudit } from '../../core/db/audit.js';
import type { HonoEnv, Services } from './services.js';

export async function audit(
  s: Services,
  c: Context<HonoEnv>,
  action: string,
  e: { appId?: string | null; subject?: AuditSubject | null; details?: Record<string, unknown> } = {},
): Promise<void> {
  const caller = c.get('caller');
  const actor =
    caller.kind === 'admin'
      ? 'admin'
      : caller.kind === 'app'
        ? `app:${caller.app.id}`
        : `user:${caller.userId}`;
  await recordAudit(s.db, { actor, action, ...e });
}
