// The admin API (which also runs on Workers) imports these gpu-worker modules: they and everything they import
// must stay free of Node built-ins.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const WEB_ONLY = ['jobs.ts', 'publish.ts', 'style-import.ts'];

function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/from ['"](\.[^'"]+)\.js['"]/g)) {
    closure(resolve(dirname(file), `${m[1]}.ts`), seen);
  }
  return seen;
}

it('keeps the modules the API imports free of node: imports, transitively', () => {
  const files = new Set(WEB_ONLY.flatMap((f) => [...closure(resolve(import.meta.dirname, f))]));
  const offenders = [...files].filter((f) =>
    /from ['"]node:|import\(['"]node:/.test(readFileSync(f, 'utf8')),
  );
  expect(offenders.map((f) => relative(import.meta.dirname, f))).toEqual([]);
  expect(files.size).toBeGreaterThan(8);
});
