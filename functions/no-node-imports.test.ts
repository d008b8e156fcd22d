// The same functions/ code runs on Node and on Workers: only runtime/node may import Node built-ins.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const root = import.meta.dirname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return relative(root, p) === join('runtime', 'node') ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

it('imports no node: module outside runtime/node (tests aside)', () => {
  const offenders = sources(root).filter((f) =>
    /from ['"]node:|import\(['"]node:|require\(['"]node:/.test(readFileSync(f, 'utf8')),
  );
  expect(offenders.map((f) => relative(root, f))).toEqual([]);
  expect(sources(root).length).toBeGreaterThan(40);
});
