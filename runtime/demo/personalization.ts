// Plays simulated story readers through the API loop and measures what their adapters learned: the driver
// behind the personalization test and `npm run demo`. Everything goes through HTTP API v1 (feedback, a
// training run, scoring, generation), as an app would.
import { heldoutMaterial, type Story } from './readers.js';

export interface ApiClient {
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown },
  ): Promise<{ status: number; json: any }>;
}

export interface ReaderReport {
  reader: string;
  story: string;
  genre: string;
  feedback: number;
  version: string | null;
  /** Mean NLL per token of the story's last third (never sent), base model vs the reader's adapter. */
  ownBefore: number;
  ownAfter: number;
  ownChangePct: number;
  /** Mean relative change on the other readers' last thirds. */
  otherChangePct: number;
  /** otherChange − ownChange, in points: above zero when the adapter learned this story in particular. */
  specificityPts: number;
  generalChangePct: number;
  namesBefore: number;
  namesAfter: number;
  sample: { prompt: string; base: string; adapter: string };
}

export interface PersonalizationReport {
  readers: ReaderReport[];
  generalPassages: number;
  trainSeconds: number;
  jobs: { id: string; status: string; error: string | null }[];
}

export interface PersonalizationOptions {
  admin: string;
  readers?: number;
  dislikes?: number;
  /** Generations per reader, with and without the adapter, for the names count. */
  generations?: number;
  log?: (line: string) => void;
}

async function ok(res: Promise<{ status: number; json: any }>, what: string): Promise<any> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Token-weighted mean NLL of texts (≤ 16 per request). */
async function meanNll(api: ApiClient, key: string, user: string, texts: string[], adapter: 'auto' | 'none') {
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < texts.length; i += 16) {
    const r = await ok(
      api.call('POST', '/v1/score', { key, body: { user, texts: texts.slice(i, i + 16), adapter } }),
      'score',
    );
    for (const x of r.results) {
      nll += x.nll;
      tokens += x.tokens;
    }
  }
  return nll / tokens;
}

const NEUTRAL_PROMPTS = ['He said', 'She looked at', 'They went to see', 'The next morning'];

async function namesRecalled(api: ApiClient, key: string, story: Story, n: number, adapter: 'auto' | 'none') {
  const names = story.names.slice(0, 8);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const prompt = NEUTRAL_PROMPTS[i % NEUTRAL_PROMPTS.length] as string;
    const g = await ok(
      api.call('POST', '/v1/generate', {
        key,
        body: { user: story.file, prompt, max_tokens: 48, seed: 100 + i, adapter },
      }),
      'generate',
    );
    if (names.some((name) => g.text.includes(name))) hits++;
  }
  return hits;
}

/** Polls jobs until each has finished, logging progress as it changes. */
export async function followJobs(api: ApiClient, admin: string, ids: string[], log: (line: string) => void) {
  const out: { id: string; status: string; error: string | null }[] = [];
  for (const id of ids) {
    let last = '';
    for (;;) {
      const job = await ok(api.call('GET', `/admin/jobs/${id}`, { key: admin }), 'job');
      const p = job.progress ?? {};
      const line = `${job.status} ${p.stage ?? ''} ${p.done ?? 0}/${p.total ?? '?'}${p.loss ? ` loss ${Number(p.loss).toFixed(3)}` : ''}`;
      if (line !== last) log(`job ${id}: ${line}`);
      last = line;
      if (job.status === 'succeeded' || job.status === 'failed') {
        out.push({ id, status: job.status, error: job.error });
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return out;
}

export async function runPersonalization(
  api: ApiClient,
  o: PersonalizationOptions,
): Promise<PersonalizationReport> {
  const log = o.log ?? (() => {});
  const { stories, general } = heldoutMaterial({ stories: o.readers ?? 6 });
  const app = await ok(
    api.call('POST', '/admin/apps', { key: o.admin, body: { name: 'story-readers' } }),
    'create app',
  );
  const key: string = app.api_key;

  // Each reader's user id is their story's file: one reader per story.
  const sent = new Map<string, number>();
  for (const [i, s] of stories.entries()) {
    for (const [j, text] of s.liked.entries()) {
      await ok(
        api.call('POST', '/v1/feedback', {
          key,
          body: { user: s.file, text, rating: 1, idempotency_key: `${s.file}-like-${j}` },
        }),
        'feedback',
      );
    }
    const others = stories.filter((x) => x !== s);
    for (let k = 0; k < (o.dislikes ?? 3); k++) {
      const other = others[(i + k) % others.length] as Story;
      const text = other.liked[k % other.liked.length] as string;
      await ok(
        api.call('POST', '/v1/feedback', {
          key,
          body: { user: s.file, text, rating: -1, idempotency_key: `${s.file}-dislike-${k}` },
        }),
        'feedback',
      );
    }
    sent.set(s.file, s.liked.length + (o.dislikes ?? 3));
    log(`reader ${s.file} (${s.genre}): liked ${s.liked.length} passages, disliked ${o.dislikes ?? 3}`);
  }

  const n = o.generations ?? 8;
  const before = new Map<string, { names: number }>();
  for (const s of stories) before.set(s.file, { names: await namesRecalled(api, key, s, n, 'none') });

  log('training cycle…');
  const t0 = Date.now();
  // Start the cycle, then follow its jobs (a long cycle outlasts HTTP clients' patience with `wait: true`).
  const run = await ok(
    api.call('POST', '/admin/training/run', { key: o.admin, body: { app: app.app_id } }),
    'training run',
  );
  const jobs = await followJobs(
    api,
    o.admin,
    run.jobs.map((j: any) => j.id as string),
    log,
  );
  const trainSeconds = (Date.now() - t0) / 1000;
  log(`training done in ${trainSeconds.toFixed(0)} s: ${jobs.map((j) => j.status).join(', ')}`);

  const base = new Map<string, number>();
  for (const s of stories) base.set(s.file, await meanNll(api, key, s.file, s.future, 'none'));
  const generalBase = await meanNll(api, key, stories[0]?.file as string, general, 'none');

  const readers: ReaderReport[] = [];
  for (const s of stories) {
    const info = await api.call('GET', `/v1/users/${s.file}/adapter`, { key });
    const version = info.status === 200 ? (info.json.version as string) : null;
    const own = await meanNll(api, key, s.file, s.future, 'auto');
    const otherChanges: number[] = [];
    for (const other of stories) {
      if (other === s) continue;
      otherChanges.push(
        (await meanNll(api, key, s.file, other.future, 'auto')) / (base.get(other.file) as number) - 1,
      );
    }
    const generalChange = (await meanNll(api, key, s.file, general, 'auto')) / generalBase - 1;
    const ownChange = own / (base.get(s.file) as number) - 1;
    const otherChange = otherChanges.reduce((a, b) => a + b, 0) / otherChanges.length;
    const prompt = (s.future[0] as string).split(/\s+/).slice(0, 12).join(' ');
    const sample = async (adapter: 'auto' | 'none') =>
      (
        await ok(
          api.call('POST', '/v1/generate', {
            key,
            body: { user: s.file, prompt, max_tokens: 40, seed: 1, adapter },
          }),
          'generate',
        )
      ).text;
    readers.push({
      reader: s.file,
      story: s.file,
      genre: s.genre,
      feedback: sent.get(s.file) ?? 0,
      version,
      ownBefore: base.get(s.file) as number,
      ownAfter: own,
      ownChangePct: 100 * ownChange,
      otherChangePct: 100 * otherChange,
      specificityPts: 100 * (otherChange - ownChange),
      generalChangePct: 100 * generalChange,
      namesBefore: before.get(s.file)?.names ?? 0,
      namesAfter: await namesRecalled(api, key, s, n, 'auto'),
      sample: { prompt, base: await sample('none'), adapter: await sample('auto') },
    });
  }
  return { readers, generalPassages: general.length, trainSeconds, jobs };
}

export function formatReport(r: PersonalizationReport, generations: number): string {
  const head = [
    'reader',
    'genre',
    'feedback',
    'version',
    'NLL before',
    'NLL after',
    'own Δ%',
    'others Δ%',
    'specificity',
    'non-fiction Δ%',
    `names /${generations}`,
  ];
  const rows = r.readers.map((x) => [
    x.reader,
    x.genre,
    String(x.feedback),
    x.version ?? '-',
    x.ownBefore.toFixed(3),
    x.ownAfter.toFixed(3),
    x.ownChangePct.toFixed(2),
    x.otherChangePct.toFixed(2),
    `${x.specificityPts >= 0 ? '+' : ''}${x.specificityPts.toFixed(2)} pts`,
    x.generalChangePct.toFixed(2),
    `${x.namesBefore} → ${x.namesAfter}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  for (const x of r.readers.slice(0, 3)) {
    out.push(
      '',
      `${x.reader} — prompt: "${x.sample.prompt}"`,
      `  base:    ${x.sample.base.replace(/\s+/g, ' ')}`,
      `  adapter: ${x.sample.adapter.replace(/\s+/g, ' ')}`,
    );
  }
  return out.join('\n');
}
