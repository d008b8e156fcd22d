// Facts every process of one database must agree on, checked at start. Today one: the platform's secret
// (core/node/secret-file.ts). Processes that disagree would sign download links the others refuse and hash
// erased users differently (an erasure in one would not fence a publish in another), so a process whose secret
// is not the one recorded refuses to start, saying so. Only a fingerprint is stored, never the secret.
import { eq } from 'drizzle-orm';
import { platformMeta } from '../../schema/tables.js';
import { hex } from '../util/encoding.js';
import { hmacSha256 } from '../util/hmac.js';
import type { Db } from './database.js';

const SECRET_FINGERPRINT = 'platform_secret_fingerprint';

export class PlatformSecretMismatchError extends Error {
  override name = 'PlatformSecretMismatchError';
}

/** Records the secret's fingerprint if none is, else checks it; throws PlatformSecretMismatchError. */
export async function checkPlatformSecret(db: Db, secret: string): Promise<void> {
  const fingerprint = hex(await hmacSha256(secret, 'tailor:platform-secret-fingerprint')).slice(0, 32);
  await db
    .insert(platformMeta)
    .values({ name: SECRET_FINGERPRINT, value: fingerprint })
    .onConflictDoNothing();
  const [row] = await db.select().from(platformMeta).where(eq(platformMeta.name, SECRET_FINGERPRINT));
  if (row && row.value !== fingerprint) {
    throw new PlatformSecretMismatchError(
      'this process has another platform secret than the processes already using this database: set the same ' +
        'TAILOR_URL_SECRET on every API process and worker (or share the data directory that keeps it)',
    );
  }
}
