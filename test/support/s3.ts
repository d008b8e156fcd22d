// A real S3-protocol server for tests, over HTTP on 127.0.0.1: @20minutes/s3rver (npm), the maintained
// fork of s3rver that verifies SigV4 signatures, header and presigned (so a presigned URL is really
// checked). It runs in a child process because its ListObjectsV2 continuation tokens use DES, which
// OpenSSL 3 (Node >= 17) only offers with --openssl-legacy-provider. The original `s3rver` 3.7.1 is not
// used: it never verifies SigV4 and its continuation tokens fail the same way. Credentials: S3RVER/S3RVER.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Store, type S3StoreOptions } from '../../core/storage/s3-store.js';

export interface S3TestServer {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A store on a new, empty bucket of this server. */
  newStore(opts?: Partial<S3StoreOptions>): Promise<S3Store>;
  stop(): Promise<void>;
}

// The child: s3rver behind a shim. s3rver verifies SigV4 against a canonical URI without the trailing
// slash of bucket-level paths (`/bucket/`, as in ListObjectsV2 and CreateBucket), while the SDK signs
// the path as sent; the shim lets the check see that path. Every signature is still verified.
const SERVER_SCRIPT = `
const authPath = require.resolve('@20minutes/s3rver/lib/middleware/authentication');
const makeAuth = require(authPath);
require.cache[authPath].exports = () => {
  const auth = makeAuth();
  return function authentication(ctx, next) {
    const bucket = ctx.params.bucket;
    if (bucket && !ctx.params.key && ctx.path === '/' + bucket + '/') {
      ctx.params.bucket = bucket + '/';
      return auth(ctx, () => {
        ctx.params.bucket = bucket;
        return next();
      });
    }
    return auth(ctx, next);
  };
};
const S3rver = require('@20minutes/s3rver');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.env.S3_TEST_DIR });
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'));
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
// Stdin closes when the parent dies: do not outlive it, nor leave its files.
process.stdin.on('end', () => {
  require('node:fs').rmSync(process.env.S3_TEST_DIR, { recursive: true, force: true });
  process.exit(0);
}).resume();
`;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`S3 test server did not start: ${err}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`S3 test server exited (${code}): ${err}`));
    });
  });
}

export async function startS3Server(): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-s3-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER_SCRIPT], {
    cwd: repoRoot,
    env: { ...process.env, S3_TEST_DIR: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  let n = 0;
  return {
    endpoint,
    credentials,
    async newStore(opts = {}) {
      const bucket = `tailor-test-${n++}`;
      const store = new S3Store({ bucket, endpoint, credentials, forcePathStyle: true, ...opts });
      await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
      return store;
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
