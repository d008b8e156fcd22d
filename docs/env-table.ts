// The environment variables table of docs/operations.md, made from the config schema (core/config.ts) so the
// two cannot drift: `npm run docs:env` rewrites it between the markers; docs/docs.test.ts fails when stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { environmentVariables } from '../core/config.js';

export const OPERATIONS = join(import.meta.dirname, 'operations.md');
const BEGIN = '<!-- env:begin (npm run docs:env) -->';
const END = '<!-- env:end -->';

/** The table, its columns padded as the formatter (biome) lays Markdown tables out. */
export function envTable(): string {
  const rows = [
    ['variable', 'default', 'what it sets'],
    ...environmentVariables().map((v) => [
      `\`${v.name}\``,
      v.default === undefined ? '—' : `\`${v.default}\``,
      v.description,
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  const [head, ...body] = rows as [string[], ...string[][]];
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The document with its table as the schema says it should be. */
export function withEnvTable(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${OPERATIONS}: the env table markers are missing`);
  return `${doc.slice(0, a + BEGIN.length)}\n${envTable()}\n${doc.slice(b)}`;
}

if (process.argv[1] === import.meta.filename) {
  writeFileSync(OPERATIONS, withEnvTable(readFileSync(OPERATIONS, 'utf8')));
  console.log(`wrote the environment table of ${OPERATIONS}`);
}
