// Feedback ingest over real HTTP on loopback: Tailor's Node process on PostgreSQL (a fresh server and database,
// durability on) and on the embedded default (PGlite), 64 keep-alive connections of POST /v1/feedback from a
// load generator in another process (bench/load-client.ts), every body unique (its own idempotency key, users
// spread over 1,000). The peer is GET /healthz (a database round trip, no write) on the same server under the
// same load, in alternating rounds (A B, B A, …). Afterwards every feedback answered 201 must be listed by the
// admin API (and, on PostgreSQL, counted by SQL): the run refuses to report otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startServer } from '../runtime/node/launch.js';
import { startPostgres } from '../test/support/postgres.js';
import { type Measured, median, percentile, round } from './harness.js';
import type { OpResult, OpSpec } from './load-client.js';
import {
  CpuMeter,
  createApp,
  failures,
  LOAD_ENV,
  LoadClient,
  postgresPids,
  storedFeedbackIds,
} from './platform.js';
import type { BenchContext } from './setup.js';

const CONNECTIONS = 64;
const USERS = 1000;

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const client = new LoadClient();
  const out: Measured[] = [];
  try {
    const pg = await startPostgres({ durable: true });
    try {
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      await sql`create database tailor_bench`;
      await sql.end();
      const url = pg.url.replace(/\/postgres$/, '/tailor_bench');
      out.push(...(await ingestOn(ctx, client, { url, dataDir: join(pg.dir, 'data') })));
    } finally {
      await pg.stop();
    }
    out.push(...(await ingestOn(ctx, client, null)));
  } finally {
    await client.close();
  }
  return out;
}

/** One database: PostgreSQL (its URL and data directory), or PGlite (null). */
async function ingestOn(
  ctx: BenchContext,
  client: LoadClient,
  pg: { url: string; dataDir: string } | null,
): Promise<Measured[]> {
  const databaseUrl = pg?.url ?? null;
  const db = databaseUrl ? 'postgres' : 'pglite';
  const dataDir = mkdtempSync(join(tmpdir(), `tailor-bench-ingest-${db}-`));
  const server = await startServer({
    ...LOAD_ENV,
    TAILOR_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl ?? '',
    S3_BUCKET: '',
    TAILOR_WORKER: '0',
    TRAIN_INTERVAL_S: '0',
  });
  try {
    const { appId, apiKey } = await createApp(server.url, 'bench-ingest');
    const rounds = ctx.quick ? 2 : 6;
    const feedbackS = ctx.quick ? 2 : 10;
    const healthS = ctx.quick ? 1 : 5;
    const feedbackOp = (r: number): OpSpec => ({
      name: 'feedback',
      kind: 'feedback',
      connections: CONNECTIONS,
      apiKey,
      userPrefix: 'reader-',
      users: USERS,
      keyPrefix: `bench-r${r}-`,
    });
    const healthOp: OpSpec = { name: 'healthz', kind: 'healthz', connections: CONNECTIONS };
    // Where the CPU goes: the server process (all its threads; PGlite runs in it), PostgreSQL's processes, the
    // load generator, and how busy the whole machine was (other work included).
    const meter = new CpuMeter({
      server: () => [server.pid],
      database: () => (pg ? postgresPids(pg.dataDir) : []),
      load: () => [client.pid],
    });
    const cpu = {
      feedback: { server: 0, database: 0, load: 0, busy: 0 },
      healthz: { server: 0, database: 0, load: 0, busy: 0 },
    };
    const metered = async (kind: 'feedback' | 'healthz', measured: boolean, run: () => Promise<OpResult>) => {
      meter.start();
      const x = await run();
      const m = meter.stop();
      if (measured) {
        const acc = cpu[kind];
        acc.server += m.groups.server ?? 0;
        acc.database += m.groups.database ?? 0;
        acc.load += m.groups.load ?? 0;
        acc.busy += m.machineBusy * x.seconds;
      }
      return x;
    };
    const accepted: string[] = [];
    const all: OpResult[] = [];
    const fb: OpResult[] = [];
    const hz: OpResult[] = [];
    // Round 0 warms up (JIT, connections, the database's caches), unmeasured but checked like the others.
    for (let r = 0; r <= rounds; r++) {
      const f = () =>
        metered('feedback', r > 0, async () => {
          const [x] = await client.run({
            base: server.url,
            durationS: r === 0 ? 2 : feedbackS,
            ops: [feedbackOp(r)],
          });
          return x as OpResult;
        });
      const h = () =>
        metered('healthz', r > 0, async () => {
          const [x] = await client.run({
            base: server.url,
            durationS: r === 0 ? 1 : healthS,
            ops: [healthOp],
          });
          return x as OpResult;
        });
      let a: OpResult;
      let b: OpResult;
      if (r % 2) {
        a = await f();
        b = await h();
      } else {
        b = await h();
        a = await f();
      }
      all.push(a, b);
      accepted.push(...(a.acceptedIds ?? []));
      if (r === 0) continue;
      fb.push(a);
      hz.push(b);
      ctx.log(
        `  ${db} round ${r}: feedback ${round(rate(a), 0)} req/s (p99 ${round(percentile(a.latenciesMs, 99), 1)} ms), healthz ${round(rate(b), 0)} req/s`,
      );
    }
    const failed = failures(all);
    const errors = all.reduce((s, x) => s + x.errors, 0);
    if (errors) ctx.log(`  ${db}: ${errors} errors:\n${failed}`);

    // Every 201 is stored: the admin API lists each accepted id (and nothing else was written).
    const stored = await storedFeedbackIds(server.url, appId);
    const storedSet = new Set(stored);
    const present = accepted.filter((id) => storedSet.has(id)).length;
    let sqlCount: number | null = null;
    if (databaseUrl) {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      const [row] = await sql`select count(*)::int as n from feedback where app_id = ${appId}`;
      sqlCount = (row as { n: number }).n;
      await sql.end();
    }
    ctx.log(
      `  ${db}: ${accepted.length} accepted, ${present} of them listed by the admin API, ${stored.length} listed${sqlCount === null ? '' : `, ${sqlCount} counted by SQL`}`,
    );
    if (
      present !== accepted.length ||
      stored.length !== accepted.length ||
      (sqlCount ?? stored.length) !== stored.length
    )
      throw new Error(
        `ingest lost or invented data on ${db}: ${accepted.length} accepted, ${present} of them stored, ${stored.length} rows listed, SQL count ${sqlCount}`,
      );

    const latencies = fb.flatMap((x) => x.latenciesMs);
    const healthLatencies = hz.flatMap((x) => x.latenciesMs);
    const fRate = sum(fb, (x) => x.byStatus['201'] ?? 0) / sum(fb, (x) => x.seconds);
    const hRate = sum(hz, (x) => x.byStatus['200'] ?? 0) / sum(hz, (x) => x.seconds);
    const peer = `GET /healthz (one database round trip, no write) on the same server, ${CONNECTIONS} connections, alternating rounds`;
    const isPg = db === 'postgres';
    ctx.log(
      `  ${db}: feedback ${round(fRate, 0)} req/s, p50 ${round(percentile(latencies, 50), 2)} ms, p99 ${round(percentile(latencies, 99), 2)} ms; healthz ${round(hRate, 0)} req/s, p99 ${round(percentile(healthLatencies, 99), 2)} ms; ${sum(fb, (x) => x.sent)} feedback + ${sum(hz, (x) => x.sent)} healthz requests measured`,
    );
    const okF = sum(fb, (x) => x.byStatus['201'] ?? 0);
    const okH = sum(hz, (x) => x.byStatus['200'] ?? 0);
    const perReq = (s: number, n: number) => round((s * 1000) / Math.max(1, n), 3);
    const busyF = cpu.feedback.busy / sum(fb, (x) => x.seconds);
    ctx.log(
      `  ${db}: CPU ms per feedback: server ${perReq(cpu.feedback.server, okF)}, database ${perReq(cpu.feedback.database, okF)}, load generator ${perReq(cpu.feedback.load, okF)}; per healthz: server ${perReq(cpu.healthz.server, okH)}, database ${perReq(cpu.healthz.database, okH)}, load generator ${perReq(cpu.healthz.load, okH)}; machine busy ${round(busyF * 100, 0)} % during feedback`,
    );
    return [
      {
        id: `feedback_ingest_${db}_requests_per_s_c64`,
        value: round(fRate, 0),
        unit: 'req/s',
        vs: peer,
        // The median over rounds of the paired ratio (feedback rate / healthz rate of the same round).
        ratio: round(median(fb.map((x, i) => rate(x) / rate(hz[i] as OpResult))), 3),
        // PostgreSQL: the issue's figure; PGlite: twice the 506 req/s recorded before this benchmark.
        goal: isPg ? '≥ 1500 req/s' : '≥ 1012 req/s',
      },
      {
        id: `feedback_ingest_${db}_p50_ms_lower_is_better`,
        value: round(percentile(latencies, 50), 2),
        unit: 'ms',
      },
      {
        id: `feedback_ingest_${db}_p99_ms_lower_is_better`,
        value: round(percentile(latencies, 99), 2),
        unit: 'ms',
        ...(isPg ? { goal: '≤ 25 ms' } : {}),
      },
      {
        id: `feedback_ingest_${db}_errors`,
        value: errors,
        unit: `errors of ${sum(all, (x) => x.sent)} requests`,
        goal: '≤ 0 errors',
      },
      {
        id: `feedback_ingest_${db}_stored_of_accepted`,
        value: accepted.length ? present / accepted.length : 0,
        unit: `fraction (${present} of ${accepted.length} accepted)`,
        goal: '≥ 1 fraction',
      },
      {
        id: `feedback_ingest_${db}_server_cpu_ms_per_request_lower_is_better`,
        value: perReq(cpu.feedback.server, okF),
        unit: `ms (all threads${isPg ? '' : ', PGlite included'})`,
      },
      ...(isPg
        ? [
            {
              id: 'feedback_ingest_postgres_database_cpu_ms_per_request_lower_is_better',
              value: perReq(cpu.feedback.database, okF),
              unit: 'ms (PostgreSQL processes)',
            },
          ]
        : []),
      {
        id: `feedback_ingest_${db}_load_generator_cpu_ms_per_request_lower_is_better`,
        value: perReq(cpu.feedback.load, okF),
        unit: 'ms',
      },
      {
        id: `feedback_ingest_${db}_machine_cpu_busy_fraction`,
        value: round(busyF, 2),
        unit: 'fraction of all cores (other work included)',
      },
      { id: `healthz_${db}_requests_per_s_c64`, value: round(hRate, 0), unit: 'req/s' },
      {
        id: `healthz_${db}_p99_ms_c64_lower_is_better`,
        value: round(percentile(healthLatencies, 99), 2),
        unit: 'ms',
      },
    ];
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const rate = (x: OpResult) => (x.byStatus[x.name === 'feedback' ? '201' : '200'] ?? 0) / x.seconds;
const sum = (xs: readonly OpResult[], f: (x: OpResult) => number) => xs.reduce((s, x) => s + f(x), 0);
