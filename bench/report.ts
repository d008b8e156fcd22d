// The results table of bench/README.md, regenerated from the results by a full run (between two marker
// comments, so the hand-written method and analysis around it stay).
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BenchResult } from './harness.js';

export const TABLE_START = '<!-- results:start (written by npm run bench) -->';
export const TABLE_END = '<!-- results:end -->';

/** Whether the result meets its goal ("≥ 1.5×" on the ratio, "≤ 10 ms" on the value); undefined: no goal. */
export function goalMet(r: Pick<BenchResult, 'goal' | 'ratio' | 'value'>): boolean | undefined {
  if (!r.goal) return undefined;
  const m = /^([≥≤])\s*([\d.]+)\s*(×|\S+)$/.exec(r.goal);
  if (!m) return undefined;
  const x = m[3] === '×' ? r.ratio : r.value;
  if (x === undefined) return undefined;
  const target = Number(m[2]);
  return m[1] === '≥' ? x >= target : x <= target;
}

export function renderTable(results: readonly BenchResult[]): string {
  const first = results[0];
  const lines = [
    first ? `Machine: ${first.machine}; run ${first.date}.` : 'No results.',
    '',
    '| id | value | unit | vs | ratio | goal | met |',
    '|---|---:|---|---|---:|---|---|',
  ];
  for (const r of results) {
    const met = goalMet(r);
    lines.push(
      `| ${r.id} | ${r.value} | ${r.unit} | ${r.vs ?? ''} | ${r.ratio ?? ''} | ${r.goal ?? ''} | ${
        met === undefined ? '' : met ? 'yes' : '**no**'
      } |`,
    );
  }
  return lines.join('\n');
}

/**
 * Replaces the table between the markers in `readmePath` (appends the markers if absent), then lets biome
 * format the file (it aligns markdown tables, and `npm run lint` checks that).
 */
export async function updateReadme(readmePath: string, results: readonly BenchResult[]): Promise<void> {
  let text = '';
  try {
    text = await readFile(readmePath, 'utf8');
  } catch {
    // no README yet
  }
  const block = `${TABLE_START}\n${renderTable(results)}\n${TABLE_END}`;
  const a = text.indexOf(TABLE_START);
  const b = text.indexOf(TABLE_END);
  text =
    a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + TABLE_END.length) : `${text}\n${block}\n`;
  await writeFile(readmePath, text);
  const biome = join(resolve(import.meta.dirname, '..'), 'node_modules/.bin/biome');
  execFileSync(biome, ['format', '--write', readmePath], { stdio: 'ignore' });
}
