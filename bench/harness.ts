// The benchmark harness: statistics, A/B interleaving, the results record and its writer. Pure helpers
// (no model, no engine) so the unit test can cover them cheaply.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';

/** One line of bench/results.json (shared/design.md, "Benchmark results"). */
export interface BenchResult {
  id: string;
  value: number;
  unit: string;
  /** The peer measured in the same run. */
  vs?: string;
  /** Ours over theirs; higher is better (ids of lower-is-better values say so). */
  ratio?: number;
  /** The target from the issue, e.g. "≥ 1.5×" or "≤ 10 ms". */
  goal?: string;
  machine: string;
  date: string;
}

/** A result before the run-wide fields are stamped on. */
export type Measured = Omit<BenchResult, 'machine' | 'date'>;

/** Median of the values (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The p-th percentile (0..100), nearest-rank: the smallest value with at least p% of values ≤ it. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError('percentile of no values');
  if (!(p >= 0 && p <= 100)) throw new RangeError('p must be in [0, 100]');
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] as number;
}

/** Milliseconds `fn` takes (performance.now, microsecond resolution). */
export async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * A contender in an interleaved comparison: `run` does one unit of work and returns its duration in ms
 * (`measured` is false in warm-up rounds, for sides that record more than the duration).
 */
export interface Side {
  name: string;
  run: (measured: boolean) => Promise<number>;
}

/**
 * Runs the sides in alternation so drift on a shared machine (other load, thermal, GC) hits all of them
 * equally: `warmup` unmeasured rounds, then `rounds` rounds; the order is reversed every other round
 * (A B, B A, A B, …) so no side always goes first. Returns each side's durations by name.
 */
export async function interleave(
  sides: readonly Side[],
  rounds: number,
  warmup = 1,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
  for (let w = 0; w < warmup; w++) for (const s of sides) await s.run(false);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...sides].reverse() : sides;
    for (const s of order) samples[s.name]?.push(await s.run(true));
  }
  return samples;
}

/**
 * How much faster `ours` is than `theirs` from interleaved durations: the median over rounds of
 * theirs[i] / ours[i]. Each round's pair ran back to back, so load that comes and goes between rounds
 * cancels out of every term (a ratio of medians would let it in).
 */
export function speedup(ours: readonly number[], theirs: readonly number[]): number {
  if (ours.length !== theirs.length || ours.length === 0) throw new RangeError('need paired samples');
  return median(ours.map((o, i) => (theirs[i] as number) / o));
}

/** Ratio rounded for the record (3 significant decimals are more than this machine's noise). */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "AMD EPYC (2 cores)": the CPU model from /proc/cpuinfo and the core count. */
export function machineName(): string {
  let model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return `${model} (${cpus().length} cores)`;
}

/** Stamps machine and date on every result. */
export function stamp(results: readonly Measured[], machine: string, date: string): BenchResult[] {
  return results.map((r) => ({ ...r, machine, date }));
}

/** Problems with a results array (empty = valid): the shape the design fixes, finite numbers. */
export function validateResults(value: unknown): string[] {
  if (!Array.isArray(value)) return ['results must be an array'];
  const problems: string[] = [];
  const ids = new Set<string>();
  value.forEach((r: unknown, i) => {
    const at = `results[${i}]`;
    if (typeof r !== 'object' || r === null) {
      problems.push(`${at} is not an object`);
      return;
    }
    const o = r as Record<string, unknown>;
    for (const k of ['id', 'unit', 'machine', 'date'])
      if (typeof o[k] !== 'string' || (o[k] as string).length === 0)
        problems.push(`${at}.${k} is not a string`);
    if (typeof o.value !== 'number' || !Number.isFinite(o.value)) problems.push(`${at}.value is not finite`);
    if (o.vs !== undefined && typeof o.vs !== 'string') problems.push(`${at}.vs is not a string`);
    if (o.goal !== undefined && typeof o.goal !== 'string') problems.push(`${at}.goal is not a string`);
    if (o.ratio !== undefined && !(typeof o.ratio === 'number' && Number.isFinite(o.ratio)))
      problems.push(`${at}.ratio is not finite`);
    if (o.ratio !== undefined && o.vs === undefined) problems.push(`${at} has a ratio but no vs`);
    if (typeof o.date === 'string' && Number.isNaN(Date.parse(o.date)))
      problems.push(`${at}.date is not a date`);
    const allowed = new Set(['id', 'value', 'unit', 'vs', 'ratio', 'goal', 'machine', 'date']);
    for (const k of Object.keys(o)) if (!allowed.has(k)) problems.push(`${at} has unknown field ${k}`);
    if (typeof o.id === 'string') {
      if (ids.has(o.id)) problems.push(`${at}.id ${o.id} is repeated`);
      ids.add(o.id);
    }
  });
  return problems;
}

/** Writes the results (validated) as pretty JSON. */
export async function writeResults(path: string, results: readonly BenchResult[]): Promise<void> {
  const problems = validateResults(results);
  if (problems.length) throw new Error(`invalid results: ${problems.join('; ')}`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** Largest resident set size seen while sampling, plus the kernel's high-water mark at the end. */
export class RssSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 20) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    this.max = Math.max(this.max, process.memoryUsage.rss());
  }

  /**
   * rssMaxMB: the sampled max of process.memoryUsage().rss; maxRssMB: resourceUsage().maxRSS; hwmMB: VmHWM
   * from /proc/self/status (Linux), the high-water mark of this process image alone. In a child process
   * maxRSS is not the child's own: Linux carries the pre-exec high-water mark over exec, and the pre-exec
   * image is the parent's, so it reports at least the parent's RSS at spawn time.
   */
  stop(): { rssMaxMB: number; maxRssMB: number; hwmMB: number | null } {
    clearInterval(this.timer);
    this.sample();
    let hwmMB: number | null = null;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) hwmMB = Number(m[1]) / 1024;
    } catch {
      // not Linux
    }
    return { rssMaxMB: this.max / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024, hwmMB };
  }
}

/** Draws from a Zipf(s) distribution over 0..n−1 (rank 0 most popular), by inverting its CDF. */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  return () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
