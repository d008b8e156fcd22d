// CallerDirectory on a database that records every use: a user token that names no app is refused before any
// lookup (once, every app's secrets were tried: an HMAC per secret of every app, for anyone to trigger).
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
  it('refuses a user token with neither kid nor iss with a 401 that says what to send, looking nothing up', async () => {
    const { db, uses } = watchedDb();
    const directory = new CallerDirectory(db, undefined, Date.now);
    // Signed properly, with a secret some app may well have: the header simply names no app.
    const signed = await signUserToken({ sub: 'reader-1', exp: exp() }, 'a-real-secret', 'app_x');
    const [, body, sig] = signed.split('.');
    for (const header of [
      { alg: 'HS256', typ: 'JWT' },
      { alg: 'HS256', kid: 'x'.repeat(500) },
    ]) {
      const token = `${b64(header)}.${body}.${sig}`;
      await expect(directory.appCaller(token)).rejects.toMatchObject({
        status: 401,
        message: expect.stringMatching(/kid/),
      });
    }
    expect(uses).toEqual([]);
  });

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
