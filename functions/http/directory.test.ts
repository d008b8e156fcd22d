// CallerDirectory on a database that records every use: a token that names its app looks up that app only.
// (Tokens naming none are bounded per address: functions/routes/limits.test.ts.)
import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db/database.js';
import { signUserToken } from '../auth/jwt.js';
import { CallerDirectory } from './directory.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A Db that counts every use and answers none. */
function watchedDb(): { db: Db; uses: string[] } {
  const uses: string[] = [];
  const db = new Proxy(
    {},
    {
      get(_, prop) {
        uses.push(String(prop));
        throw new Error(`the database was used (${String(prop)})`);
      },
    },
  ) as Db;
  return { db, uses };
}

const exp = () => Math.floor(Date.now() / 1000) + 60;

describe('CallerDirectory', () => {
  it('looks up the app a token names (kid or iss)', async () => {
    for (const token of [
      await signUserToken({ sub: 'reader-1', exp: exp() }, 's', 'app_x'),
      `${b64({ alg: 'HS256' })}.${b64({ sub: 'reader-1', exp: exp(), iss: 'app_x' })}.sig`,
    ]) {
      const { db, uses } = watchedDb();
      await expect(new CallerDirectory(db, undefined, Date.now).appCaller(token)).rejects.toThrow(
        /database was used/,
      );
      expect(uses.length).toBeGreaterThan(0);
    }
  });
});
