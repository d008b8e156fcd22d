// Soak: Tailor's Node process on the embedded defaults (PGlite, local storage, the training worker in the
// process) under a mixed, paced load for 10 minutes (20 s with --quick) while training cycles run: a load
// generator in another process (bench/load-client.ts) sends generations for the 1,000 users with active
// adapters (each answer must name the user's version), generations for the users being trained (their new
// version is picked up mid-run), feedback, GET /v1/users/{user}/adapter and admin listings. Meanwhile this
// process starts a training cycle (POST /admin/training/run, two named users with 20 liked passages each)
// and the next one whenever the last has finished. Goals: no request fails, and the server's resident memory
// does not grow: the median VmRSS of the last minute against that of the first minute after warm-up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldoutMaterial } from '../runtime/demo/readers.js';
import { startServer } from '../runtime/node/launch.js';
import { type Measured, median, percentile, round } from './harness.js';
import type { OpResult, OpSpec } from './load-client.js';
import {
  ADMIN,
  admin,
  BENCH_VERSION_PREFIX,
  failures,
  LOAD_ENV,
  LoadClient,
  ProcessRss,
  prepareDataDir,
  slopeMBPerMin,
} from './platform.js';
import type { BenchContext } from './setup.js';
import { userAdapters } from './users.js';

/** Users trained per cycle, and cycles prepared for (more than 10 minutes can hold on 2 cores). */
const PER_CYCLE = 2;
const CYCLES = 6;
/** Growth of the median RSS, last window over the first after warm-up, that still counts as none. */
export const MAX_GROWTH = 0.05;

interface Job {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  error: string | null;
  result: { users?: { user?: string; version: string; status: 'active' | 'rejected' }[] } | null;
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const count = ctx.quick ? 100 : 1000;
  const durationS = ctx.quick ? 20 : 600;
  const warmupS = ctx.quick ? 5 : 60;
  const windowS = ctx.quick ? 5 : 60;
  const users = await userAdapters(ctx.pkg, count, ctx.log);
  const dataDir = mkdtempSync(join(tmpdir(), 'tailor-bench-soak-'));
  const client = new LoadClient();
  try {
    const { appId, apiKey } = await prepareDataDir(dataDir, users, count);
    const server = await startServer({
      ...LOAD_ENV,
      TAILOR_DATA_DIR: dataDir,
      DATABASE_URL: '',
      S3_BUCKET: '',
      TAILOR_WORKER: '1',
      TRAIN_INTERVAL_S: '0',
    });
    try {
      // The users to train: each likes 20 passages of a held-out story (what the README's walk-through does).
      const stories = heldoutMaterial({ stories: PER_CYCLE * CYCLES }).stories;
      const trainees = stories.map((_, i) => `trainee-${i}`);
      for (const [i, story] of stories.entries()) {
        for (const [j, text] of story.liked.slice(0, 20).entries()) {
          const res = await fetch(`${server.url}/v1/feedback`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ user: trainees[i], text, rating: 1, idempotency_key: `seed-${i}-${j}` }),
          });
          if (res.status !== 201) throw new Error(`seeding feedback: ${res.status} ${await res.text()}`);
        }
      }

      const ops: OpSpec[] = [
        {
          name: 'generate',
          kind: 'generate',
          connections: 4,
          intervalMs: 200,
          apiKey,
          userPrefix: 'u',
          users: count,
          maxTokens: 16,
          versionPrefix: BENCH_VERSION_PREFIX,
        },
        {
          name: 'generate (users in training)',
          kind: 'generate',
          connections: 1,
          intervalMs: 1000,
          apiKey,
          userPrefix: 'trainee-',
          users: trainees.length,
          maxTokens: 16,
        },
        {
          name: 'feedback',
          kind: 'feedback',
          connections: 2,
          intervalMs: 50,
          apiKey,
          userPrefix: 'u',
          users: count,
          keyPrefix: 'soak-',
        },
        {
          name: 'adapter',
          kind: 'adapter',
          connections: 2,
          intervalMs: 100,
          apiKey,
          userPrefix: 'u',
          users: count,
        },
        { name: 'listings', kind: 'listing', connections: 1, intervalMs: 500, adminToken: ADMIN, appId },
      ];
      // Warm-up, not counted: a fresh server's first generations compile the engine threads' wasm (the first
      // takes seconds; see load.ts).
      await client.run({ base: server.url, durationS: 3, ops: [{ ...(ops[0] as OpSpec), connections: 1 }] });
      const rss = new ProcessRss(server.pid);
      let loadDone = false;
      const load = client.run({ base: server.url, durationS, ops }).finally(() => {
        loadDone = true;
      });

      // Training cycles, one after another, for as long as the load runs.
      const jobs: Job[] = [];
      const cycleErrors: string[] = [];
      for (let c = 0; c < CYCLES && !loadDone; c++) {
        const named = trainees.slice(c * PER_CYCLE, (c + 1) * PER_CYCLE);
        const started = await admin<{ jobs: Job[] }>(server.url, 'POST', '/admin/training/run', {
          app: appId,
          users: named,
        });
        if (started.jobs.length === 0) {
          cycleErrors.push(`cycle ${c}: no job for ${named.join(', ')}`);
          break;
        }
        ctx.log(`  [${round(rss.elapsed(), 0)} s] training cycle ${c + 1}: ${named.join(', ')}`);
        for (const j of started.jobs) {
          let job = j;
          while (!loadDone && (job.status === 'queued' || job.status === 'running')) {
            await new Promise((r) => setTimeout(r, 2000));
            job = await admin<Job>(server.url, 'GET', `/admin/jobs/${j.id}`);
          }
          if (job.status === 'failed') cycleErrors.push(`job ${job.id}: ${job.error}`);
          if (job.status === 'succeeded' || job.status === 'failed') {
            jobs.push(job);
            ctx.log(
              `  [${round(rss.elapsed(), 0)} s] job ${job.id} ${job.status}: ${(job.result?.users ?? []).map((u) => `${u.user} ${u.status} ${u.version}`).join(', ')}`,
            );
          }
        }
      }
      const results = await load;
      const samples = rss.stop();

      // Each version the cycles promoted is the one served now.
      const promoted = jobs.flatMap((j) => (j.result?.users ?? []).filter((u) => u.status === 'active'));
      for (const u of promoted) {
        const info = await fetch(`${server.url}/v1/users/${u.user}/adapter`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        const body = (await info.json()) as { version?: string };
        if (body.version !== u.version)
          cycleErrors.push(`${u.user}: promoted ${u.version}, served ${body.version ?? info.status}`);
      }

      const errors = results.reduce((s, r) => s + r.errors, 0);
      const sent = results.reduce((s, r) => s + r.sent, 0);
      if (errors) ctx.log(`  ${failures(results)}`);
      if (cycleErrors.length) ctx.log(`  training: ${cycleErrors.join('; ')}`);
      for (const r of results) {
        ctx.log(
          `  ${r.name}: ${r.sent} sent (${round(r.sent / r.seconds, 1)}/s), ${JSON.stringify(r.byStatus)}, p50 ${round(percentile(r.latenciesMs, 50), 1)} ms, p99 ${round(percentile(r.latenciesMs, 99), 1)} ms${r.adapter ? `, adapter applied ${r.adapter.applied}, none ${r.adapter.none}, fallback ${r.adapter.fallback}, another version ${r.adapter.mismatch}` : ''}`,
        );
      }
      const inWindow = (from: number, to: number) =>
        samples.filter((p) => p.s >= from && p.s < to).map((p) => p.mb);
      const first = median(inWindow(warmupS, warmupS + windowS));
      const last = median(inWindow(durationS - windowS, durationS + 1));
      const afterWarmup = samples.filter((p) => p.s >= warmupS);
      const peak = Math.max(...samples.map((p) => p.mb));
      ctx.log(
        `  server RSS: ${round(samples[0]?.mb ?? 0, 0)} MB at start, median ${round(first, 0)} MB in the first ${windowS} s after warm-up, ${round(last, 0)} MB in the last ${windowS} s, peak ${round(peak, 0)} MB; slope after warm-up ${round(slopeMBPerMin(afterWarmup), 2)} MB/min; ${jobs.length} training jobs finished, ${promoted.length} versions promoted`,
      );
      const gen = results.find((r) => r.name === 'generate') as OpResult;
      const a = gen.adapter as NonNullable<OpResult['adapter']>;
      return [
        {
          id: 'soak_requests',
          value: sent,
          unit: `requests in ${durationS} s (${results.map((r) => `${r.name} ${r.sent}`).join(', ')})`,
        },
        {
          id: 'soak_errors',
          value: errors + cycleErrors.length,
          unit: `errors of ${sent} requests and the training cycles`,
          goal: '≤ 0 errors',
        },
        {
          id: 'soak_generate_without_the_users_adapter',
          value: a.fallback + a.none + a.mismatch,
          unit: `answers of ${a.applied + a.fallback + a.none + a.mismatch}`,
          goal: '≤ 0 answers',
        },
        {
          id: 'soak_training_jobs_finished',
          value: jobs.length,
          unit: `jobs of ${PER_CYCLE} users (${promoted.length} versions promoted while serving)`,
        },
        {
          id: 'soak_server_rss_first_window_mb',
          value: round(first, 1),
          unit: `MB (median, ${warmupS}–${warmupS + windowS} s)`,
        },
        {
          id: 'soak_server_rss_last_window_mb',
          value: round(last, 1),
          unit: `MB (median, last ${windowS} s)`,
        },
        {
          id: 'soak_server_rss_growth_fraction_lower_is_better',
          value: round((last - first) / first, 3),
          unit: 'fraction (last window over first)',
          goal: `≤ ${MAX_GROWTH} fraction`,
        },
        { id: 'soak_server_rss_peak_mb', value: round(peak, 1), unit: 'MB' },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
