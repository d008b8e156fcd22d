// Helpers of the HTTP benchmarks that drive a whole Tailor process (ingest, load, soak): the load generator
// in its child process, admin calls, the feedback stored for an app, and a server's memory over time.
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { insertAdapter, promoteAdapter } from '../core/db/adapters.js';
import { createApp as createAppRow } from '../core/db/apps.js';
import { openDatabase } from '../core/node/open.js';
import { hex6, type LoadSpec, type OpResult } from './load-client.js';
import { Child } from './peers/child.js';
import { ROOT } from './setup.js';
import type { UserAdapters } from './users.js';

export const ADMIN = 'bench-admin-token-0123456789';

/** What every benchmarked server gets: no rate limits (the load is one client), the admin token. */
export const LOAD_ENV = {
  ADMIN_TOKEN: ADMIN,
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_PER_USER_PER_MINUTE: '0',
};

/** The load generator: a Node child process (bench/load-client.ts) that runs one LoadSpec at a time. */
export class LoadClient {
  private readonly child = new Child(join(ROOT, 'bench/load-client.ts'));

  async run(spec: LoadSpec): Promise<OpResult[]> {
    return (await this.child.request<{ results: OpResult[] }>({ spec })).results;
  }

  close(): Promise<void> {
    return this.child.close();
  }

  get pid(): number {
    return this.child.pid as number;
  }
}

export async function admin<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** A new app through the admin API: its id and API key. */
export async function createApp(base: string, name: string): Promise<{ appId: string; apiKey: string }> {
  const app = await admin<{ app_id: string; api_key: string }>(base, 'POST', '/admin/apps', { name });
  return { appId: app.app_id, apiKey: app.api_key };
}

/** Every feedback id the admin API lists for the app (all pages, 200 a page). */
export async function storedFeedbackIds(base: string, appId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; next_cursor: string | null } = await admin(
      base,
      'GET',
      `/admin/apps/${appId}/feedback?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const f of page.items) ids.push(f.id);
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}

/** VmRSS of a process in MB (Linux /proc), or null when it is gone. */
export function rssMB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` (seconds since start, MB). */
export class ProcessRss {
  readonly samples: { s: number; mb: number }[] = [];
  private readonly t0 = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    everyMs = 1000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    const mb = rssMB(this.pid);
    if (mb !== null) this.samples.push({ s: (performance.now() - this.t0) / 1000, mb });
  }

  /** Seconds since sampling started. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  stop(): { s: number; mb: number }[] {
    clearInterval(this.timer);
    this.sample();
    return this.samples;
  }
}

/** Least-squares slope of the samples, MB per minute. */
export function slopeMBPerMin(samples: readonly { s: number; mb: number }[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const ms = samples.reduce((a, p) => a + p.s, 0) / n;
  const mm = samples.reduce((a, p) => a + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.s - ms) * (p.mb - mm);
    den += (p.s - ms) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

/** The answers of a load run that were not what was expected, with samples, as one message. */
export function failures(results: readonly OpResult[]): string {
  return results
    .filter((r) => r.errors > 0)
    .map(
      (r) =>
        `${r.name}: ${r.errors} of ${r.sent} (${JSON.stringify(r.byStatus)}): ${r.errorSamples.join(' | ')}`,
    )
    .join('\n');
}

/** The version the load benchmarks give user `u<i>`'s adapter (checked in every generation's answer). */
export const BENCH_VERSION_PREFIX = 'v20260101-000000-';

/**
 * A data directory on the embedded defaults, made before the server starts (PGlite allows one process): an
 * app, and users `u0…u<count-1>` each with an active adapter version `BENCH_VERSION_PREFIX + hex6(i)` whose
 * files are bench/users.ts's rank-8 adapters (the storage directory links to them: they are not copied).
 * The rows go in through the repository functions the platform's own publishing uses (insert, promote).
 */
export async function prepareDataDir(
  dataDir: string,
  users: UserAdapters,
  count: number,
): Promise<{ appId: string; apiKey: string }> {
  const storage = join(dataDir, 'storage', 'adapters');
  mkdirSync(storage, { recursive: true });
  // users.ts keeps them under adapters/bench/u<i>/v1/; no app id is `bench`, so nothing the platform
  // writes or erases can land in the shared set.
  symlinkSync(join(users.store.root, 'adapters', 'bench'), join(storage, 'bench'));
  const database = await openDatabase({ driver: 'pglite', dataDir });
  try {
    const { app, apiKey } = await createAppRow(database.db, { name: 'bench-load' });
    for (let i = 0; i < count; i++) {
      const owner = { appId: app.id, userId: `u${i}` };
      const version = `${BENCH_VERSION_PREFIX}${hex6(i)}`;
      await insertAdapter(database.db, owner, {
        version,
        storagePrefix: users.prefixes[i] as string,
        baseModelId: 'brown-4m',
        status: 'candidate',
        metrics: {},
      });
      await promoteAdapter(database.db, owner, version);
    }
    return { appId: app.id, apiKey };
  } finally {
    await database.close();
  }
}

/** The sum of a metric's values over its label sets in a /metrics exposition (0 when absent). */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) a process has used so far, or 0 when it is gone. */
export function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** A PostgreSQL server's processes: the postmaster (from its pid file) and its children (backends, …). */
export function postgresPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster)
        pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The whole machine's busy and total CPU seconds so far (/proc/stat, all cores). */
export function machineCpuS(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string)
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return {
    busy: (user + nice + system + irq + softirq + steal) / TICKS_PER_S,
    total: (user + nice + system + idle + iowait + irq + softirq + steal) / TICKS_PER_S,
  };
}

/** CPU seconds used by each named group of processes between `start()` and `stop()`, and the machine's. */
export class CpuMeter {
  private at: { groups: Record<string, number>; machine: { busy: number; total: number } } | null = null;

  constructor(private readonly groups: Record<string, () => number[]>) {}

  private read() {
    const groups: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups))
      groups[name] = pids().reduce((s, p) => s + processCpuS(p), 0);
    return { groups, machine: machineCpuS() };
  }

  start(): void {
    this.at = this.read();
  }

  /** Seconds per group since start, and the fraction of the machine's CPU that was busy. */
  stop(): { groups: Record<string, number>; machineBusy: number } {
    const a = this.at;
    if (!a) throw new Error('CpuMeter.stop before start');
    const b = this.read();
    const groups: Record<string, number> = {};
    for (const name of Object.keys(b.groups)) groups[name] = (b.groups[name] ?? 0) - (a.groups[name] ?? 0);
    const total = b.machine.total - a.machine.total;
    return { groups, machineBusy: total > 0 ? (b.machine.busy - a.machine.busy) / total : 0 };
  }
}
