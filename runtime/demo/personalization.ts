// Plays simulated story readers through the API loop and measures what their adapters learned: the driver
// behind the personalization test, the PEFT benchmark and `npm run demo`. The readers' side goes through
// @tailor/sdk as an app's server would (feedback, generation, scoring, the user's adapter); the operator's
// (the app, the training cycle, its jobs) through the admin routes (./admin.ts).
import type { OwnerOutcome } from '../../schema/training.js';
import type { FeedbackRequest, Tailor } from '../../sdk/src/index.js';
import { followJobs, type JobView, type ProgressOutput } from '../node/job-progress.js';
import { adminClient, type Connection, type CreatedApp, sdkClient } from './admin.js';
import { heldoutMaterial, recurrences, type Story } from './readers.js';

export type { Connection } from './admin.js';

export interface ReaderReport {
  reader: string;
  story: string;
  genre: string;
  /** How often the liked part's names come back in the last third: a serial's characters recur, others' not. */
  recurrences: number;
  feedback: number;
  /** The version the training cycle published for the reader, and the gate's verdict on it. */
  outcome: OwnerOutcome | null;
  /** The reader's active version after the cycle (null: none, the base model serves them). */
  version: string | null;
  /** Mean NLL per token of the story's last third (never sent), base model vs the reader's adapter. */
  ownBefore: number;
  ownAfter: number;
  ownChangePct: number;
  /** The same with the reader's memory (their latest liked passages before each text), base model / adapter. */
  memoryAfter: number;
  memoryChangePct: number;
  bothAfter: number;
  bothChangePct: number;
  /** Mean relative change on the other readers' last thirds. */
  otherChangePct: number;
  /** otherChange − ownChange, in points: above zero when the adapter learned this story in particular. */
  specificityPts: number;
  generalChangePct: number;
  namesBefore: number;
  namesAfter: number;
  /** Generations naming a recurring character with memory on: base model + memory, adapter + memory. */
  namesMemory: number;
  namesBoth: number;
  sample: { prompt: string; base: string; adapter: string };
}

export interface PersonalizationReport {
  readers: ReaderReport[];
  generalPassages: number;
  /** Seconds spent sending feedback, in the training cycle, and measuring the adapters. */
  seconds: { feedback: number; training: number; measuring: number };
  jobs: JobView[];
}

export interface PersonalizationOptions {
  /** The admin token. */
  admin: string;
  /** The app the readers use (default: a new one, "story-readers"). */
  app?: CreatedApp;
  readers?: number;
  /** Keep only stories whose names recur at least this often in their last third (default 10: serials). */
  minRecurrences?: number;
  dislikes?: number;
  /**
   * How a reader sends their passages: as likes (default), or as edits — each passage the reader's rewrite of
   * what the base model generated from its first words (`text` the generation, `edited_text` the passage).
   */
  feedbackAs?: 'likes' | 'edits';
  /** Generations per reader, with and without the adapter, for the names count. */
  generations?: number;
  log?: (line: string) => void;
  /** Where the training job's progress bar goes (none: no bar). */
  progress?: ProgressOutput | null;
}

type Choice = 'auto' | 'none';

/** Token-weighted mean NLL of texts (≤ 16 per request), with the adapter and memory as chosen. */
async function meanNll(
  tailor: Tailor,
  user: string,
  texts: string[],
  adapter: Choice,
  memory: Choice = 'none',
) {
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < texts.length; i += 16) {
    const r = await tailor.score({ user, texts: texts.slice(i, i + 16), adapter, memory });
    for (const x of r.results) {
      nll += x.nll;
      tokens += x.tokens;
    }
  }
  return nll / tokens;
}

const NEUTRAL_PROMPTS = ['He said', 'She looked at', 'They went to see', 'The next morning'];

async function namesRecalled(
  tailor: Tailor,
  story: Story,
  n: number,
  adapter: Choice,
  memory: Choice = 'none',
) {
  const names = story.names.slice(0, 8);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const prompt = NEUTRAL_PROMPTS[i % NEUTRAL_PROMPTS.length] as string;
    const g = await tailor.complete({
      user: story.file,
      prompt,
      max_tokens: 48,
      seed: 100 + i,
      adapter,
      memory,
    });
    if (names.some((name) => g.text.includes(name))) hits++;
  }
  return hits;
}

export async function runPersonalization(
  conn: Connection,
  o: PersonalizationOptions,
): Promise<PersonalizationReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const { stories, general } = heldoutMaterial({
    stories: o.readers ?? 6,
    ...(o.minRecurrences !== undefined ? { minRecurrences: o.minRecurrences } : {}),
  });
  const admin = adminClient(conn, o.admin);
  const app = o.app ?? (await admin.createApp('story-readers'));
  const tailor = sdkClient(conn, app.api_key);

  // Each reader's user id is their story's file: one reader per story.
  const sent = new Map<string, number>();
  for (const [i, s] of stories.entries()) {
    for (const [j, text] of s.liked.entries()) {
      let body: FeedbackRequest = {
        user: s.file,
        text,
        rating: 1,
        idempotency_key: `${s.file}-like-${j}`,
      };
      if (o.feedbackAs === 'edits') {
        const prompt = text.split(/\s+/).slice(0, 8).join(' ');
        const g = await tailor.complete({ user: s.file, prompt, max_tokens: 32, seed: j, adapter: 'none' });
        const generated = `${prompt}${g.text}`;
        body = {
          user: s.file,
          text: generated,
          edited_text: text,
          rating: 1,
          idempotency_key: `${s.file}-edit-${j}`,
        };
      }
      await tailor.feedback(body);
    }
    const others = stories.filter((x) => x !== s);
    for (let k = 0; k < (o.dislikes ?? 3); k++) {
      const other = others[(i + k) % others.length] as Story;
      const text = other.liked[k % other.liked.length] as string;
      await tailor.feedback({ user: s.file, text, rating: -1, idempotency_key: `${s.file}-dislike-${k}` });
    }
    sent.set(s.file, s.liked.length + (o.dislikes ?? 3));
    const kind = o.feedbackAs === 'edits' ? 'edited' : 'liked';
    log(`reader ${s.file} (${s.genre}): ${kind} ${s.liked.length} passages, disliked ${o.dislikes ?? 3}`);
  }

  const n = o.generations ?? 8;
  const promptOf = (s: Story) => (s.future[0] as string).split(/\s+/).slice(0, 12).join(' ');
  const sample = async (s: Story, adapter: Choice) =>
    (await tailor.complete({ user: s.file, prompt: promptOf(s), max_tokens: 40, seed: 1, adapter })).text;
  // What the base model does, measured while the trainer trains (a process of its own, on another core).
  const measureBase = async () => {
    const out = new Map<string, { names: number; nll: number; sample: string }>();
    for (const s of stories) {
      out.set(s.file, {
        names: await namesRecalled(tailor, s, n, 'none'),
        nll: await meanNll(tailor, s.file, s.future, 'none'),
        sample: await sample(s, 'none'),
      });
    }
    return { readers: out, general: await meanNll(tailor, stories[0]?.file as string, general, 'none') };
  };

  const t1 = Date.now();
  log(`training cycle for ${stories.length} readers (one job, one batch)…`);
  // Start the cycle, then follow its jobs (a long cycle outlasts HTTP clients' patience with `wait: true`).
  const run = await admin.runTraining(app.app_id);
  const [jobs, baseline] = await Promise.all([
    followJobs(
      admin.job,
      run.map((j) => j.id),
      o.progress ?? null,
    ),
    measureBase(),
  ]);
  const t2 = Date.now();
  log(`training done in ${((t2 - t1) / 1000).toFixed(0)} s: ${jobs.map((j) => j.status).join(', ')}`);
  const outcomes = new Map<string, OwnerOutcome>();
  for (const j of jobs) {
    const users = j.result && 'users' in j.result ? j.result.users : [];
    for (const u of users) if (u.user) outcomes.set(u.user, u);
  }

  const base = new Map([...baseline.readers].map(([file, b]) => [file, b.nll]));
  const generalBase = baseline.general;

  const readers: ReaderReport[] = [];
  for (const s of stories) {
    const version = (await tailor.adapter(s.file))?.version ?? null;
    const own = await meanNll(tailor, s.file, s.future, 'auto');
    const otherChanges: number[] = [];
    for (const other of stories) {
      if (other === s) continue;
      otherChanges.push(
        (await meanNll(tailor, s.file, other.future, 'auto')) / (base.get(other.file) as number) - 1,
      );
    }
    const generalChange = (await meanNll(tailor, s.file, general, 'auto')) / generalBase - 1;
    const before = base.get(s.file) as number;
    const ownChange = own / before - 1;
    const memoryAfter = await meanNll(tailor, s.file, s.future, 'none', 'auto');
    const bothAfter = await meanNll(tailor, s.file, s.future, 'auto', 'auto');
    const otherChange = otherChanges.reduce((a, b) => a + b, 0) / otherChanges.length;
    readers.push({
      reader: s.file,
      story: s.file,
      genre: s.genre,
      recurrences: recurrences(s),
      feedback: sent.get(s.file) ?? 0,
      outcome: outcomes.get(s.file) ?? null,
      version,
      ownBefore: before,
      ownAfter: own,
      ownChangePct: 100 * ownChange,
      memoryAfter,
      memoryChangePct: 100 * (memoryAfter / before - 1),
      bothAfter,
      bothChangePct: 100 * (bothAfter / before - 1),
      otherChangePct: 100 * otherChange,
      specificityPts: 100 * (otherChange - ownChange),
      generalChangePct: 100 * generalChange,
      namesBefore: baseline.readers.get(s.file)?.names ?? 0,
      namesAfter: await namesRecalled(tailor, s, n, 'auto'),
      namesMemory: await namesRecalled(tailor, s, n, 'none', 'auto'),
      namesBoth: await namesRecalled(tailor, s, n, 'auto', 'auto'),
      sample: {
        prompt: promptOf(s),
        base: baseline.readers.get(s.file)?.sample ?? '',
        adapter: await sample(s, 'auto'),
      },
    });
  }
  const seconds = {
    feedback: (t1 - t0) / 1000,
    training: (t2 - t1) / 1000,
    measuring: (Date.now() - t2) / 1000,
  };
  return { readers, generalPassages: general.length, seconds, jobs };
}

const pct = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(2)}%`;

/**
 * The readers as a table. A reader whose new version the gate rejected has no adapter: the base model serves
 * them, so their row says so instead of showing a 0 % change, and a line below says why.
 */
export function formatReport(r: PersonalizationReport, generations: number): string {
  const head = [
    'reader',
    'genre',
    'recur',
    'feedback',
    'new version',
    'NLL before',
    'NLL after',
    'own Δ',
    'memory Δ',
    'both Δ',
    'others Δ',
    'specificity',
    'non-fiction Δ',
    `names /${generations} (base → adapter, memory, both)`,
  ];
  const rows = r.readers.map((x) => {
    const served = x.version !== null;
    return [
      x.reader,
      x.genre,
      String(x.recurrences),
      String(x.feedback),
      x.outcome ? `${x.outcome.version} ${x.outcome.status === 'active' ? 'promoted' : 'REJECTED'}` : 'none',
      x.ownBefore.toFixed(3),
      served ? x.ownAfter.toFixed(3) : 'base model',
      served ? pct(x.ownChangePct) : '-',
      pct(x.memoryChangePct),
      served ? pct(x.bothChangePct) : '-',
      served ? pct(x.otherChangePct) : '-',
      served ? `${x.specificityPts >= 0 ? '+' : ''}${x.specificityPts.toFixed(2)} pts` : '-',
      served ? pct(x.generalChangePct) : '-',
      `${x.namesBefore} → ${served ? x.namesAfter : '-'}, ${x.namesMemory}, ${served ? x.namesBoth : '-'}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const promoted = r.readers.filter((x) => x.outcome?.status === 'active').length;
  out.push('', `${promoted} of ${r.readers.length} readers got a new adapter.`);
  for (const x of r.readers) {
    const o = x.outcome;
    if (o?.status === 'rejected') {
      out.push(
        `${x.reader}: ${o.version} was REJECTED by the gate: its held-out loss ${o.heldout_loss_after.toFixed(4)} did ` +
          `not beat ${o.baseline === 'base' ? 'the base model' : o.baseline}'s ${o.baseline_heldout_loss.toFixed(4)}, so ` +
          `${x.version ? `${x.version} stays active` : 'the base model keeps serving this reader'}.`,
      );
    } else if (!o) out.push(`${x.reader}: no version was trained (see the job's log).`);
  }
  for (const x of r.readers.filter((y) => y.version !== null).slice(0, 3)) {
    out.push(
      '',
      `${x.reader} — prompt: "${x.sample.prompt}"`,
      `  base:    ${x.sample.base.replace(/\s+/g, ' ')}`,
      `  adapter: ${x.sample.adapter.replace(/\s+/g, ' ')}`,
    );
  }
  return out.join('\n');
}
