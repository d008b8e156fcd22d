// Erasure of everything about a user, by the app (DELETE /v1/users/{user}) or an operator; the audit log says who.
import { eraseEndUser } from '../../core/db/erase.js';
import { deletePrefix } from '../../core/storage/delete-prefix.js';
import { userAdaptersPrefix } from '../../core/storage/keys.js';
import type { Caller } from '../http/directory.js';
import type { Services } from '../http/services.js';
import { audit } from './audit.js';

/**
 * Everything about a user goes: rows, then every file of theirs: under each version's recorded prefix, the
 * user's folder (also files a crashed run left unreferenced), and the folder of the old, unencoded layout
 * (listed under its exact spelling: on a case-insensitive disk `Bob`'s folder is not `bob`'s). Then this
 * process forgets them; other processes do on the erasure's notice. The embedded database's files lose the
 * rows at its compactor's next pass (core/db/compaction.ts), not during this request.
 */
export async function eraseUser(s: Services, caller: Caller, appId: string, user: string): Promise<void> {
  const erased = await eraseEndUser(s.db, appId, user, {
    userHash: await s.userHash(appId, user),
    compaction: s.config.database.driver === 'pglite',
  });
  const legacy = `adapters/${appId}/${user}/`; // every id the API accepts makes a valid prefix here too
  const prefixes = new Set([...erased.storagePrefixes, userAdaptersPrefix(appId, user), legacy]);
  for (const prefix of prefixes) await deletePrefix(s.store, prefix);
  await s.forgetUser(appId, user);
  await audit(s, caller, 'user.erased', { appId, subject: { kind: 'user', id: user } });
}
