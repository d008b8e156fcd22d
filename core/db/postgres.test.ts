// The database suite on a real PostgreSQL server: TEST_DATABASE_URL when set (CI starts one), else a
// throwaway server started here (test/support/postgres.ts). Each run works in a database of its own,
// dropped afterwards. No server → the tests fail, unless TAILOR_SKIP_POSTGRES=1.

import postgres from 'postgres';
import { afterAll, beforeAll, describe } from 'vitest';
import { type PostgresServer, startPostgres } from '../../test/support/postgres.js';
import { describeDatabase } from './db-suite.js';
import { openPostgres } from './postgres.js';

const skip = process.env.TAILOR_SKIP_POSTGRES === '1';

describe.skipIf(skip)('PostgreSQL driver', () => {
  let server: PostgresServer | undefined;
  let adminUrl = '';
  let testUrl = '';
  const dbName = `tailor_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    try {
      if (process.env.TEST_DATABASE_URL) {
        adminUrl = process.env.TEST_DATABASE_URL;
      } else {
        server = await startPostgres();
        adminUrl = server.url;
      }
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database ${dbName}`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    } catch (e) {
      throw new Error(
        `no PostgreSQL server for the database suite: ${(e as Error).message}\n` +
          'Set TEST_DATABASE_URL to a server where the user may CREATE DATABASE, install the Debian ' +
          '`postgresql` package so a throwaway one can be started, or set TAILOR_SKIP_POSTGRES=1 to skip.',
      );
    }
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    testUrl = url.href;
  }, 120_000);

  afterAll(async () => {
    if (adminUrl && !server) {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
    }
    await server?.stop();
  });

  describeDatabase('PostgreSQL (postgres.js)', async () => openPostgres(testUrl));
});
