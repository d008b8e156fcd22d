// `npm run bench [-- --quick] [--only decode,lora] [--out path]`: runs the benchmarks one after another in
// this process (peers that need a process of their own run in children) and writes the results. The full
// run writes bench/results.json; --quick (small counts, a smoke run) writes bench/tmp/results.quick.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as adapterLoad from './adapter-load.js';
import * as batching from './batching.js';
import * as ceiling from './ceiling.js';
import * as compaction from './compaction.js';
import * as decode from './decode.js';
import { type Measured, machineName, RssSampler, round, stamp, writeResults } from './harness.js';
import * as importedBase from './imported-base.js';
import * as ingest from './ingest.js';
import * as latencyMemory from './latency-memory.js';
import * as load from './load.js';
import * as lora from './lora.js';
import * as manyUsers from './many-users.js';
import * as memorySearch from './memory-search.js';
import * as peft from './peft.js';
import { updateReadme } from './report.js';
import * as requestPath from './request-path.js';
import * as runtime from './runtime.js';
import * as serving from './serving.js';
import { type BenchContext, loadShippedPackage, ROOT, TMP } from './setup.js';
import * as soak from './soak.js';
import * as training from './training.js';

export const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<Measured[]>> = {
  decode: decode.run,
  runtime: runtime.run,
  lora: lora.run,
  batching: batching.run,
  'adapter-load': adapterLoad.run,
  'many-users': manyUsers.run,
  'latency-memory': latencyMemory.run,
  ceiling: ceiling.run,
  ingest: ingest.run,
  compaction: compaction.run,
  'memory-search': memorySearch.run,
  serving: serving.run,
  'request-path': requestPath.run,
  training: training.run,
  load: load.run,
  soak: soak.run,
  peft: peft.run,
  'imported-base': importedBase.run,
};
/**
 * Run only when named (`--only peft`): training four recipes on story readers takes ~20 minutes; importing a
 * 135 M-shaped base writes ~1.1 GB and takes minutes.
 */
const OPT_IN = new Set(['peft', 'imported-base']);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      merge: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick ?? false;
  const names = values.only ? values.only.split(',') : Object.keys(BENCHMARKS).filter((n) => !OPT_IN.has(n));
  for (const n of names) if (!BENCHMARKS[n]) throw new Error(`unknown benchmark ${n}`);
  const out = values.out ?? (quick ? join(TMP, 'results.quick.json') : join(ROOT, 'bench/results.json'));

  const started = performance.now();
  const log = (m: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${m}`);
  const rss = new RssSampler();
  const ctx: BenchContext = { quick, pkg: await loadShippedPackage(), log };
  const results: Measured[] = [];
  for (const name of names) {
    log(`== ${name}`);
    const got = await (BENCHMARKS[name] as (c: BenchContext) => Promise<Measured[]>)(ctx);
    for (const r of got) log(`  ${format(r)}`);
    results.push(...got);
  }
  const mem = rss.stop();
  // The whole bench process: three engines' caches of up to 1,000 adapters, transformers.js, test graphs.
  results.push({ id: 'bench_process_peak_rss_max_rss_mb', value: round(mem.maxRssMB, 1), unit: 'MB' });
  let stamped = stamp(results, machineName(), new Date().toISOString());
  if (values.merge) {
    // --only … --merge: re-record some benchmarks in bench/results.json, keeping the others' last results.
    // The bench process's peak is the whole run's: a partial run keeps the last full run's figure.
    const earlier = JSON.parse(readFileSync(out, 'utf8')) as typeof stamped;
    const peak = 'bench_process_peak_rss_max_rss_mb';
    if (values.only && earlier.some((r) => r.id === peak)) stamped = stamped.filter((r) => r.id !== peak);
    const fresh = new Set(stamped.map((r) => r.id));
    const kept = earlier.filter((r) => !fresh.has(r.id));
    stamped = [...kept.filter((r) => r.id !== 'bench_process_peak_rss_mb'), ...stamped];
  }
  await writeResults(out, stamped);
  log(`wrote ${out} (${results.length} results)`);
  if (!values.out && !quick && (!values.only || values.merge)) {
    await updateReadme(join(ROOT, 'bench/README.md'), stamped);
    log('updated the table in bench/README.md');
  }
}

function format(r: Measured): string {
  const ratio = r.ratio === undefined ? '' : `  ${r.ratio}× vs ${r.vs}`;
  return `${r.id}: ${r.value} ${r.unit}${ratio}${r.goal ? `  (goal ${r.goal})` : ''}`;
}

await main();
