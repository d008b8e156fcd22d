// Feedback ingest over real HTTP on loopback: Tailor's Node process on the embedded defaults (PGlite, local
// storage), a load of concurrent POST /v1/feedback from this process, against GET /healthz (a database
// round trip, no write) on the same server in alternating rounds. Every accepted feedback must be stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../runtime/node/launch.js';
import { type Measured, percentile, round } from './harness.js';
import type { BenchContext } from './setup.js';

const ADMIN = 'bench-admin-token-0123456789';

async function load(
  requests: number,
  concurrency: number,
  send: (i: number) => Promise<Response>,
  ok: number,
) {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const s = performance.now();
        const res = await send(i);
        await res.arrayBuffer();
        latencies.push(performance.now() - s);
        if (res.status !== ok) failed++;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latencies, failed };
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tailor-bench-ingest-'));
  const server = await startServer({
    TAILOR_DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    DATABASE_URL: '',
    S3_BUCKET: '',
    TAILOR_WORKER: '0',
    TRAIN_INTERVAL_S: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  });
  try {
    const app = await (
      await fetch(`${server.url}/admin/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' }),
      })
    ).json();
    const rounds = ctx.quick ? 1 : 4;
    const perRound = ctx.quick ? 200 : 1000;
    const concurrency = 16;
    const feedback = { seconds: 0, latencies: [] as number[], failed: 0 };
    const health = { seconds: 0, latencies: [] as number[], failed: 0 };
    let sent = 0;
    for (let r = 0; r < rounds; r++) {
      const base = sent;
      const f = await load(
        perRound,
        concurrency,
        (i) =>
          fetch(`${server.url}/v1/feedback`, {
            method: 'POST',
            headers: { authorization: `Bearer ${app.api_key}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              user: `reader-${(base + i) % 100}`,
              text: `A passage the reader liked, number ${base + i}.`,
              rating: 1,
              idempotency_key: `bench-${base + i}`,
            }),
          }),
        201,
      );
      sent += perRound;
      const h = await load(perRound, concurrency, () => fetch(`${server.url}/healthz`), 200);
      for (const [acc, x] of [
        [feedback, f],
        [health, h],
      ] as const) {
        acc.seconds += x.seconds;
        acc.latencies.push(...x.latencies);
        acc.failed += x.failed;
      }
      ctx.log(
        `  round ${r + 1}: feedback ${round(perRound / f.seconds, 0)} req/s, healthz ${round(perRound / h.seconds, 0)} req/s`,
      );
    }
    // Every accepted feedback is in the database.
    let stored = 0;
    let cursor: string | null = null;
    do {
      const page: { items: unknown[]; next_cursor: string | null } = await (
        await fetch(
          `${server.url}/admin/apps/${app.app_id}/feedback?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          {
            headers: { authorization: `Bearer ${ADMIN}` },
          },
        )
      ).json();
      stored += page.items.length;
      cursor = page.next_cursor;
    } while (cursor);
    if (feedback.failed || stored !== sent)
      throw new Error(`ingest lost data: ${feedback.failed} failed, ${stored}/${sent} stored`);
    const fRate = sent / feedback.seconds;
    const hRate = (rounds * perRound) / health.seconds;
    const peer = 'GET /healthz (one database round trip, no write) on the same server, same load';
    return [
      {
        id: 'feedback_ingest_requests_per_s_c16_loopback',
        value: round(fRate, 0),
        unit: 'req/s',
        vs: peer,
        ratio: round(fRate / hRate, 3),
      },
      {
        id: 'feedback_ingest_p50_ms_lower_is_better',
        value: round(percentile(feedback.latencies, 50), 2),
        unit: 'ms',
      },
      {
        id: 'feedback_ingest_p99_ms_lower_is_better',
        value: round(percentile(feedback.latencies, 99), 2),
        unit: 'ms',
        vs: peer,
        ratio: round(percentile(health.latencies, 99) / percentile(feedback.latencies, 99), 3),
      },
      { id: 'healthz_requests_per_s_c16_loopback', value: round(hRate, 0), unit: 'req/s' },
      { id: 'feedback_ingest_stored_of_accepted', value: stored / sent, unit: 'fraction' },
    ];
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
