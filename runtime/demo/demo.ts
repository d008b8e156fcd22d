// `npm run demo`: starts Tailor (embedded defaults, in a temporary data directory), plays simulated story
// readers through the whole loop — feedback, one training cycle, scoring and generation with their adapters
// — and trains a genre style; prints what changed. Options: --readers N (default 4), --no-style.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../node/launch.js';
import { type ApiClient, followJobs, formatReport, runPersonalization } from './personalization.js';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '4' },
    'no-style': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const admin = `demo-admin-${Date.now()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'tailor-demo-'));
const say = (line: string) => console.log(`[demo] ${line}`);

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
say(`platform at ${server.url}`);

const api: ApiClient = {
  async call(method, path, opts = {}) {
    const res = await fetch(server.url + path, {
      method,
      headers: {
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  },
};

try {
  const generations = 8;
  const report = await runPersonalization(api, {
    admin,
    readers: Number(values.readers),
    generations,
    log: say,
  });
  console.log(
    `\nStory readers after one training cycle (${report.trainSeconds.toFixed(0)} s; NLL in nats/token on the last third of each story, never sent as feedback):\n`,
  );
  console.log(formatReport(report, generations));

  if (!values['no-style']) {
    const apps = await api.call('GET', '/admin/apps', { key: admin });
    const appId = apps.json.items[0].id as string;
    say('training the "mystery" style from the mystery genre’s training passages …');
    const started = await api.call('POST', `/admin/apps/${appId}/styles`, {
      key: admin,
      body: { style: 'mystery', genre: 'mystery' },
    });
    const [job] = await followJobs(api, admin, [started.json.job.id], say);
    if (job?.status !== 'succeeded') throw new Error(`style job ${job?.status}: ${job?.error}`);
    const prompt = 'When she opened the door of the study, she saw';
    const asUser = async (styles: { id: string; weight: number }[]) =>
      (
        await api.call('POST', `/admin/apps/${appId}/generate`, {
          key: admin,
          body: { user: 'style-demo', prompt, max_tokens: 48, seed: 3, adapter: 'none', styles },
        })
      ).json.text;
    console.log(`\nA style changes the continuation of one prompt ("${prompt}"), seed 3:`);
    console.log(`  base:            ${(await asUser([])).replace(/\s+/g, ' ')}`);
    console.log(`  mystery (w=1):   ${(await asUser([{ id: 'mystery', weight: 1 }])).replace(/\s+/g, ' ')}`);
  }
} finally {
  await server.stop();
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
