// The same functions/ code runs on Node and on Workers: only runtime/node may import Node built-ins, and the
// Workers glue (runtime/workers) only those workerd provides with `nodejs_compat`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const root = import.meta.dirname;
const NODEJS_COMPAT = new Set(['node:async_hooks', 'node:buffer', 'node:events', 'node:stream']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return relative(root, p) === join('runtime', 'node') ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

it('imports no node: module outside runtime/node (tests aside; Workers glue: nodejs_compat only)', () => {
  const offenders: string[] = [];
  for (const f of sources(root)) {
    const rel = relative(root, f);
    const mods = [
      ...readFileSync(f, 'utf8').matchAll(/(?:from |import\(|require\()['"](node:[\w/]+)['"]/g),
    ].map((m) => m[1] as string);
    const allowed = rel.startsWith(join('runtime', 'workers')) ? NODEJS_COMPAT : new Set<string>();
    for (const m of mods) if (!allowed.has(m)) offenders.push(`${rel}: ${m}`);
  }
  expect(offenders).toEqual([]);
  expect(sources(root).length).toBeGreaterThan(40);
});
