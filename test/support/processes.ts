// Real processes for cross-process tests: JSON calls over HTTP with timing, `tailor worker` as a child process,
// a fresh PostgreSQL database (on TEST_DATABASE_URL's server, or a throwaway one), polling with a deadline.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import postgres from 'postgres';
import { insertAdapter, promoteAdapter } from '../../core/db/adapters.js';
import type { Db } from '../../core/db/database.js';
import { REPO_ROOT } from '../../core/node/repo.js';
import type { BlobStore } from '../../core/storage/store.js';
import { loadModelInfo } from '../../engine/index.js';
import { randomAdapter } from '../../engine/testing.js';
import { type PostgresServer, startPostgres } from './postgres.js';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  json: any;
  text: string;
  headers: Headers;
  ms: number;
}

export async function callJson(
  base: string,
  method: string,
  path: string,
  auth: string,
  body?: unknown,
): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${auth}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, headers: res.headers, ms: performance.now() - t0 };
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): void;
}

/** `tailor worker` in a process of its own, with `env` added to this process's. */
export function startWorkerProcess(label: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'runtime/node/cli.ts'), 'worker'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return {
    child,
    output: () => `[${label}]\n${out}`,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}

/** Polls `probe` every 20 ms until it gives a value. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** A new, empty database: its URL, and the throwaway server to stop afterwards when one was started. */
export async function freshDatabase(prefix: string): Promise<{ url: string; server?: PostgresServer }> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let server: PostgresServer | undefined;
  if (!adminUrl) {
    server = await startPostgres();
    adminUrl = server.url;
  }
  const name = `${prefix}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = postgres(adminUrl, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return { url: adminUrl.replace(/\/[^/]*$/, `/${name}`), ...(server ? { server } : {}) };
}

/** A valid random rank-8 adapter for `user`, written straight to the bucket and made active in the database. */
export async function seedActiveAdapter(
  db: Db,
  store: BlobStore,
  owner: { appId: string; userId: string },
  version: string,
  seed: number,
): Promise<string> {
  const info = await loadModelInfo(store, 'models/brown-4m/');
  const files = randomAdapter(info.shape, {
    r: 8,
    alpha: 16,
    targets: ['q_proj', 'v_proj'],
    seed,
    scale: 0.2,
  });
  const prefix = `adapters/${owner.appId}/${owner.userId}/${version}/`;
  await store.put(`${prefix}adapter_config.json`, files.config);
  await store.put(`${prefix}adapter_model.safetensors`, files.weights);
  await insertAdapter(db, owner, {
    version,
    storagePrefix: prefix,
    baseModelId: 'brown-4m',
    status: 'candidate',
  });
  await promoteAdapter(db, owner, version);
  return prefix;
}

/**
 * The environment of a platform process on production parts (a PostgreSQL database, an S3 bucket) with rate
 * limits off, one engine thread and no training in the API process: what the cross-process tests share. Every
 * process of one database shares the platform secret, as in production (a process with another refuses to
 * start).
 */
export function productionPartsEnv(parts: {
  dbUrl: string;
  s3Endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}): Record<string, string> {
  return {
    DATABASE_URL: parts.dbUrl,
    TAILOR_URL_SECRET: 'one-platform-secret-for-every-process',
    S3_ENDPOINT: parts.s3Endpoint,
    S3_BUCKET: parts.bucket,
    S3_REGION: 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
    S3_ACCESS_KEY_ID: parts.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: parts.credentials.secretAccessKey,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
    ENGINE_THREADS: '1',
    TAILOR_WORKER: '0',
    TRAIN_INTERVAL_S: '0',
    TRAIN_MIN_FEEDBACK: '4',
    TRAIN_COOLDOWN_S: '0',
  };
}
