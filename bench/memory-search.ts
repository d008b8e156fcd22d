// Memory at request time (core/db/memory.ts, functions/memory/recall.ts): how fast a user's memory is searched
// and packed, and how relevant what it finds is, on the embedded default (PGlite, in this process) and on a real
// PostgreSQL server. Readers each follow three Brown stories at once and like 20 passages of each (60 items);
// one heavy reader has 1,000. The query is the words of the next passage of one of their stories, never stored.
// Peer, in the same run and interleaved: the same user's latest 8 items, unranked (what a memory without search
// would read). Relevance: of the 4 best items, the share from the story the query continues, vs the latest 4.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, desc, eq } from 'drizzle-orm';
import { createApp } from '../core/db/apps.js';
import type { Database } from '../core/db/database.js';
import { newId } from '../core/db/ids.js';
import { searchMemory } from '../core/db/memory.js';
import { migrate } from '../core/db/migrate.js';
import { openPostgres } from '../core/db/postgres.js';
import { readBrown } from '../core/node/brown.js';
import { openPglite } from '../core/node/pglite.js';
import { recall } from '../functions/memory/recall.js';
import { feedback } from '../schema/tables.js';
import { startPostgres } from '../test/support/postgres.js';
import { interleave, type Measured, percentile, round, speedup, timeMs } from './harness.js';
import type { BenchContext } from './setup.js';

const STORIES_PER_READER = 3;
const PASSAGES_PER_STORY = 20;
const HEAVY_ITEMS = 1000;
const PASSAGE_WORDS = 60;
const CANDIDATES = 8; // as recall.ts
const BUDGET = 96; // MEMORY_TOKENS' default

interface Reader {
  id: string;
  /** Per story: its stored passages (in the order liked) and the next one, the query. */
  stories: { file: string; stored: string[]; next: string }[];
}

/** Fiction stories cut into passages of PASSAGE_WORDS words; each reader takes three of them. */
function readers(n: number): Reader[] {
  const fiction = readBrown().filter((d) => /fiction|mystery|adventure|romance|humor|science/.test(d.genre));
  const cut = (text: string) => {
    const words = text.split(/\s+/).filter(Boolean);
    const out: string[] = [];
    for (let i = 0; i + PASSAGE_WORDS <= words.length; i += PASSAGE_WORDS)
      out.push(words.slice(i, i + PASSAGE_WORDS).join(' '));
    return out;
  };
  const stories = fiction
    .map((d) => ({ file: d.file, passages: cut(d.text) }))
    .filter((s) => s.passages.length > PASSAGES_PER_STORY);
  return Array.from({ length: n }, (_, r) => ({
    id: `reader-${r}`,
    stories: Array.from({ length: STORIES_PER_READER }, (_, k) => {
      const s = stories[(r * STORIES_PER_READER + k) % stories.length] as (typeof stories)[number];
      return {
        file: s.file,
        stored: s.passages.slice(0, PASSAGES_PER_STORY),
        next: s.passages[PASSAGES_PER_STORY] as string,
      };
    }),
  }));
}

/** Stores every reader's passages as likes, the three stories interleaved in time; returns text → story. */
async function store(database: Database, appId: string, all: Reader[], heavy: string[]) {
  const storyOf = new Map<string, string>();
  const rows: (typeof feedback.$inferInsert)[] = [];
  const like = (userId: string, text: string) => {
    const at = Date.UTC(2026, 0, 1) + rows.length * 1000; // one a second, in order
    rows.push({ id: newId('fb', at), appId, userId, text, rating: 1, createdAt: new Date(at) });
  };
  for (const r of all) {
    for (let i = 0; i < PASSAGES_PER_STORY; i++) {
      for (const s of r.stories) {
        const text = s.stored[i] as string;
        storyOf.set(text, s.file);
        like(r.id, text);
      }
    }
  }
  for (const text of heavy) like('heavy', text);
  for (let i = 0; i < rows.length; i += 500)
    await database.db.insert(feedback).values(rows.slice(i, i + 500));
  return { storyOf, items: rows.length };
}

function latest(database: Database, appId: string, userId: string, limit: number) {
  return database.db
    .select({ id: feedback.id, text: feedback.text })
    .from(feedback)
    .where(and(eq(feedback.appId, appId), eq(feedback.userId, userId)))
    .orderBy(desc(feedback.createdAt), desc(feedback.id))
    .limit(limit);
}

async function measureOn(ctx: BenchContext, name: string, database: Database): Promise<Measured[]> {
  await migrate(database.db);
  const { app } = await createApp(database.db, { name: `bench-memory-${name}` });
  const n = ctx.quick ? 20 : 200;
  const all = readers(n);
  const heavyTexts = readers(Math.ceil(HEAVY_ITEMS / (STORIES_PER_READER * PASSAGES_PER_STORY)) + n)
    .slice(n)
    .flatMap((r) => r.stories.flatMap((s) => s.stored))
    .slice(0, HEAVY_ITEMS);
  const { storyOf, items } = await store(database, app.id, all, heavyTexts);
  ctx.log(`  ${name}: ${items} items: ${n} readers of 60 and one of ${heavyTexts.length}`);
  const queries = all.flatMap((r) => r.stories.map((s) => ({ user: r.id, story: s.file, query: s.next })));
  const tokenizer = ctx.pkg.tokenizer;

  // Relevance, once per query: the share of the best 4 (and of the latest 4) from the story it continues.
  const same = (texts: string[], story: string) => texts.filter((t) => storyOf.get(t) === story).length;
  let hitsSearch = 0;
  let hitsLatest = 0;
  for (const q of queries) {
    const found = await searchMemory(database.db, {
      appId: app.id,
      userId: q.user,
      query: q.query,
      limit: 4,
    });
    hitsSearch += same(
      found.map((f) => f.text),
      q.story,
    );
    const recent = await latest(database, app.id, q.user, 4);
    hitsLatest += same(
      recent.map((f) => f.text),
      q.story,
    );
  }
  const precision = hitsSearch / (4 * queries.length);
  const precisionLatest = hitsLatest / (4 * queries.length);

  // Latency, interleaved: search, search + pack (the whole request-time cost), the unranked latest-8 peer.
  const rounds = ctx.quick ? 30 : 300;
  let k = 0;
  // The next query, as the heavy reader when one is given (the heavy reader's own items answer it).
  const next = (as?: string) => {
    const q = queries[k++ % queries.length] as (typeof queries)[number];
    return { userId: as ?? q.user, query: q.query };
  };
  const sides = (as?: string) => [
    {
      name: 'search',
      run: () => {
        const q = next(as);
        return timeMs(() => searchMemory(database.db, { appId: app.id, ...q, limit: CANDIDATES }));
      },
    },
    {
      name: 'recall',
      run: () => {
        const q = next(as);
        return timeMs(() => recall(database.db, tokenizer, { appId: app.id, ...q, budget: BUDGET }));
      },
    },
    { name: 'latest', run: () => timeMs(() => latest(database, app.id, next(as).userId, CANDIDATES)) },
  ];
  const s60 = await interleave(sides(), rounds, 20);
  const heavy = await interleave(sides('heavy'), Math.ceil(rounds / 3), 5);
  const get = (x: Record<string, number[]>, side: string) => x[side] as number[];
  // How fast it is against the unranked peer: the median over rounds of peer / ours (< 1: slower).
  const paired = (x: Record<string, number[]>, side: string) =>
    round(speedup(get(x, side), get(x, 'latest')), 3);
  ctx.log(
    `  ${name}: search p50 ${round(percentile(get(s60, 'search'), 50), 3)} ms, p99 ${round(percentile(get(s60, 'search'), 99), 3)} ms; recall (search + pack) p50 ${round(percentile(get(s60, 'recall'), 50), 3)} ms; latest-8 p50 ${round(percentile(get(s60, 'latest'), 50), 3)} ms; ${HEAVY_ITEMS} items: search p50 ${round(percentile(get(heavy, 'search'), 50), 3)} ms; precision@4 ${round(precision, 3)} vs latest ${round(precisionLatest, 3)}`,
  );
  const peer = `the same user's latest ${CANDIDATES} items, unranked (same filters, same database), interleaved`;
  const ms = (x: number[], p: number) => round(percentile(x, p), 3);
  return [
    {
      id: `memory_search_${name}_p50_ms_60_items_lower_is_better`,
      value: ms(get(s60, 'search'), 50),
      unit: 'ms',
      vs: peer,
      ratio: paired(s60, 'search'),
      goal: '≤ 5 ms',
    },
    {
      id: `memory_search_${name}_p99_ms_60_items_lower_is_better`,
      value: ms(get(s60, 'search'), 99),
      unit: 'ms',
    },
    {
      id: `memory_recall_${name}_p50_ms_60_items_search_and_pack_lower_is_better`,
      value: ms(get(s60, 'recall'), 50),
      unit: `ms (search, then ${BUDGET} tokens packed with the tokenizer)`,
      vs: peer,
      ratio: paired(s60, 'recall'),
    },
    {
      id: `memory_search_${name}_p50_ms_${HEAVY_ITEMS}_items_lower_is_better`,
      value: ms(get(heavy, 'search'), 50),
      unit: 'ms',
      vs: peer,
      ratio: paired(heavy, 'search'),
      goal: '≤ 20 ms',
    },
    {
      id: `memory_search_${name}_precision_at_4_same_story`,
      value: round(precision, 3),
      unit: `fraction (${queries.length} queries; readers of ${STORIES_PER_READER} stories, chance ${round(1 / STORIES_PER_READER, 2)})`,
      vs: 'the latest 4 items',
      ratio: round(precision / Math.max(1e-9, precisionLatest), 3),
      goal: '≥ 0.6 fraction',
    },
  ];
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const out: Measured[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tailor-bench-memory-'));
  const lite = await openPglite({ dataDir: dir }); // on disk, as `npm start` runs it
  try {
    out.push(...(await measureOn(ctx, 'pglite', lite)));
  } finally {
    await lite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = await startPostgres({ durable: true });
  try {
    const database = openPostgres(pg.url);
    try {
      out.push(...(await measureOn(ctx, 'postgres', database)));
    } finally {
      await database.close();
    }
  } finally {
    await pg.stop();
  }
  return out;
}
