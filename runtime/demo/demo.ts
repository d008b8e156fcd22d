// `npm run demo`: starts Tailor (embedded defaults, in a temporary data directory) and plays simulated story
// readers through the whole loop — feedback, one training cycle (a progress bar), then scoring and generation
// with their adapters — and prints what each reader's adapter learned, and which versions the gate rejected
// and why. Options: --readers N (default 4), --every-story (not only serials: also stories whose names do not
// come back), --edits (each passage sent as the reader's edit of a generation instead of a like), --style
// (also trains the "mystery" genre style, a few minutes more), --keep (keep the data directory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StyleWeight } from '../../sdk/src/index.js';
import { followJobs } from '../node/job-progress.js';
import { startServer } from '../node/launch.js';
import { adminClient, type Connection, sdkClient } from './admin.js';
import { formatReport, runPersonalization } from './personalization.js';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '4' },
    'every-story': { type: 'boolean', default: false },
    edits: { type: 'boolean', default: false },
    style: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const started = Date.now();
const admin = `demo-admin-${Date.now()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'tailor-demo-'));
const say = (line: string) => console.log(`[demo] ${line}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

say(`starting Tailor in ${dataDir} …`);
const server = await startServer({
  TAILOR_DATA_DIR: dataDir,
  ADMIN_TOKEN: admin,
  TRAIN_INTERVAL_S: '0',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  DATABASE_URL: '',
  S3_BUCKET: '',
});
say(`platform at ${server.url} (${seconds(Date.now() - started)})`);

const conn: Connection = { baseUrl: server.url, fetch };
const operator = adminClient(conn, admin);

try {
  const generations = 4;
  const app = await operator.createApp('story-readers');
  const report = await runPersonalization(conn, {
    admin,
    app,
    readers: Number(values.readers),
    ...(values['every-story'] ? { minRecurrences: 0 } : {}),
    ...(values.edits ? { feedbackAs: 'edits' as const } : {}),
    generations,
    log: say,
    progress: process.stdout,
  });
  const t = report.seconds;
  console.log(
    `\nStory readers after one training cycle. NLL: nats per token on the last third of each reader's story, ` +
      `never sent as feedback, with the base model and with the reader's adapter; "others": the other readers' ` +
      `stories; non-fiction: held-out Brown passages.\n`,
  );
  console.log(formatReport(report, generations));

  if (values.style) {
    say('training the "mystery" style from the mystery genre’s training passages …');
    const queued = await operator.trainStyle(app.app_id, { style: 'mystery', genre: 'mystery' });
    const [job] = await followJobs(operator.job, [queued.id], process.stdout);
    if (job?.status !== 'succeeded') throw new Error(`style job ${job?.status}: ${job?.error}`);
    const prompt = 'When she opened the door of the study, she saw';
    const tailor = sdkClient(conn, app.api_key);
    const asUser = async (styles: StyleWeight[]) =>
      (
        await tailor.complete({
          user: 'style-demo',
          prompt,
          max_tokens: 48,
          seed: 3,
          adapter: 'none',
          styles,
        })
      ).text;
    console.log(`\nA style changes the continuation of one prompt ("${prompt}"), seed 3:`);
    console.log(`  base:            ${(await asUser([])).replace(/\s+/g, ' ')}`);
    console.log(`  mystery (w=1):   ${(await asUser([{ id: 'mystery', weight: 1 }])).replace(/\s+/g, ' ')}`);
  }
  console.log(
    `\nTimes: start ${seconds(Date.now() - started - (t.feedback + t.training + t.measuring) * 1000)}, feedback ` +
      `${t.feedback.toFixed(0)} s, training ${t.training.toFixed(0)} s, measuring ${t.measuring.toFixed(0)} s; ` +
      `${seconds(Date.now() - started)} in all.${values.style ? '' : ' (--style also trains a genre style.)'}`,
  );
} finally {
  await server.stop();
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
