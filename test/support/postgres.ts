// A throwaway PostgreSQL server for tests: initdb into a temporary directory, start it on a free
// loopback port with durability off (fast), stop and remove it afterwards. Uses the Debian packages'
// binaries (/usr/lib/postgresql/<version>/bin, or PG_BIN). PostgreSQL refuses to run as root, so as
// root the commands run as the `postgres` user through runuser.
//
// Also a CLI for scripts (the server outlives the command; stop it with the printed directory):
//   npx tsx test/support/postgres.ts start [dir]   prints TEST_DATABASE_URL=... and PG_TEST_DIR=...
//   npx tsx test/support/postgres.ts stop <dir>

import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresServer {
  /** Superuser URL of the `postgres` database, on 127.0.0.1. */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export function findPostgresBin(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const v = versions[0];
  if (!v) {
    throw new Error(
      'no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin; set PG_BIN, or apt-get install postgresql)',
    );
  }
  return join(root, v, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('running as root, but there is no `postgres` user');
  return { uid: Number(uid), gid: Number(gid) };
}

const isRoot = () => process.getuid?.() === 0;

async function pgCommand(bin: string, tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
    : [join(bin, tool), args];
  try {
    await run(cmd, argv, { timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${tool} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

/**
 * Starts a fresh server; `dir` (created when missing) holds the data directory, socket and log. `durable`
 * keeps PostgreSQL's own durability settings (fsync, synchronous commit: what production runs; benchmarks)
 * instead of turning them off for speed.
 */
export async function startPostgres(opts: { dir?: string; durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tailor-pg-'));
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const serverOpts = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  try {
    await pgCommand(bin, 'initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await pgCommand(bin, 'pg_ctl', [
      '-D',
      data,
      '-o',
      serverOpts,
      '-l',
      join(dir, 'server.log'),
      '-w',
      'start',
    ]);
  } catch (e) {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    stop: () => stopPostgres(dir),
  };
}

export async function stopPostgres(dir: string): Promise<void> {
  const data = join(dir, 'data');
  if (existsSync(join(data, 'postmaster.pid'))) {
    await pgCommand(findPostgresBin(), 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  }
  rmSync(dir, { recursive: true, force: true });
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const [command, dir] = process.argv.slice(2);
  if (command === 'start') {
    const server = await startPostgres(dir ? { dir } : {});
    console.log(`TEST_DATABASE_URL=${server.url}`);
    console.log(`PG_TEST_DIR=${server.dir}`);
  } else if (command === 'stop' && dir) {
    await stopPostgres(dir);
  } else {
    console.error('usage: tsx test/support/postgres.ts start [dir] | stop <dir>');
    process.exit(2);
  }
}
