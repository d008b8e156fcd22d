// The walls between the floors, checked on every import of every source file:
//
//   runtime/     process entries: the Node server, the CLI, the standalone worker, the demo, the Workers entries
//   functions/   the edge API (Hono)              gpu-worker/   training (orchestrator, trainer)
//   engine/      inference (onnxruntime-web): generation, scoring, adapters; one entry, engine/index.ts
//   core/        what both stand on: config, database, storage, job registry, trainer contract, model format
//   schema/      tables, migrations, API contracts
//   sdk/         the client SDK (@tailor/sdk): imports only sdk/ and schema/'s types, no package, no Node built-in;
//                its on-device part (sdk/src/local*) also the engine's entry, web-only core/ and onnxruntime-web
//
// Imports go downward only: functions/ and gpu-worker/ never import each other or runtime/; engine/ imports only
// engine/, core/ (not core/node/) and schema/; core/ imports only core/ and schema/. Outside engine/, the engine
// is reached through engine/index.ts only (test code and benchmarks also through its helpers, engine/testing.ts).
// Web-only floors (functions/, engine/, core/ but core/node/) import no Node built-in, so they run on Workers;
// the Workers entries only the built-ins workerd provides with nodejs_compat. Only core/db/ (and the drivers
// that open a database) speaks SQL; schema/ declares the tables. No runtime code imports build code
// (models/build/), benchmarks or test code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/node/repo.js';

const SKIP = new Set([
  'node_modules',
  'dist',
  '.git',
  '.tailor',
  'tmp',
  'trainer',
  'brown-4m',
  '.wrangler',
  '.venv',
]);
const NODEJS_COMPAT = new Set(['node:async_hooks', 'node:buffer', 'node:events', 'node:stream']);

function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : sources(rel);
    return /\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

interface Import {
  from: string;
  /** Repository-relative path of a project file, or the package / `node:` specifier. */
  to: string;
  local: boolean;
}

function importsOf(file: string): Import[] {
  const src = readFileSync(join(REPO_ROOT, file), 'utf8');
  const specs = [
    ...src.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g,
    ),
  ].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
  return specs.map((s) =>
    s.startsWith('.')
      ? { from: file, to: localFile(relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), s))), local: true }
      : { from: file, to: s, local: false },
  );
}

/** The file an import names: `.js` stands for `.ts`; the console's imports leave out `.ts`/`.tsx`. */
function localFile(path: string): string {
  const ts = path.replace(/\.js$/, '.ts');
  for (const p of [ts, `${path}.ts`, `${path}.tsx`, join(path, 'index.ts')])
    if (existsSync(join(REPO_ROOT, p))) return p;
  return ts;
}

/** Groups of files that import each other, directly or through others (Tarjan's strongly connected components). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v) as number);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Test code: test files, the cross-cutting tests and what they share, suites and fixtures for tests. */
const isTestCode = (f: string) =>
  /\.test\.tsx?$/.test(f) || f.startsWith('test/') || /(-suite|testing|test-setup)\.ts$/.test(f);
const floor = (f: string) => f.split('/')[0] as string;
const under = (f: string, dir: string) => f.startsWith(`${dir}/`);

const files = [
  'schema',
  'core',
  'engine',
  'functions',
  'gpu-worker',
  'runtime',
  'models',
  'bench',
  'infra',
  'test',
  'sdk',
  'web',
  'example',
].flatMap((d) => sources(d));
const code = files.filter((f) => !isTestCode(f));
const edges = code.flatMap(importsOf);
/** Every file's imports, test code's included. */
const allEdges = files.flatMap(importsOf);

/** The engine's one entry, and the helpers test code and benchmarks may use beside it. */
const ENGINE_ENTRY = 'engine/index.ts';
const ENGINE_TESTING = 'engine/testing.ts';

/** Each floor's files may import project files only from these folders. */
const ALLOWED: Record<string, string[]> = {
  schema: ['schema'],
  core: ['core', 'schema'],
  engine: ['engine', 'core', 'schema'],
  functions: ['functions', 'engine', 'core', 'schema'],
  'gpu-worker': ['gpu-worker', 'core', 'schema'],
  // The demo drives the platform as an app would: through the SDK.
  runtime: ['runtime', 'functions', 'engine', 'gpu-worker', 'core', 'schema', 'sdk'],
  sdk: ['sdk', 'schema'],
  // The console talks to the platform over HTTP; from schema/ it takes only types (checked below).
  web: ['web', 'schema'],
  // The example app is built on the SDK alone.
  example: ['example', 'sdk'],
};
const RUNTIME_FLOORS = Object.keys(ALLOWED);
/** The SDK's on-device generation: it runs the server's own engine (web-only code) on onnxruntime-web. */
const isOnDevice = (f: string) => /^sdk\/src\/local([./-]|$)/.test(f);
const onDeviceMay = (to: string) => to === ENGINE_ENTRY || (under(to, 'core') && !under(to, 'core/node'));
const ON_DEVICE_PACKAGES = ['onnxruntime-web'];
/** `import … from '…'` and `export … from '…'`: [1] is ` type` when type-only, [2] the specifier. */
const IMPORT_FROM = /(?:^|\n)\s*(?:import|export)(\s+type)?\b[^'"]*?from\s*['"]([^'"]+)['"]/g;

describe('the layers of the repository', () => {
  it('finds the code it checks', () => {
    expect(code.length).toBeGreaterThan(100);
    expect(edges.filter((e) => e.local).length).toBeGreaterThan(300);
    expect(code.filter((f) => under(f, 'web')).length).toBeGreaterThan(30);
    expect(code.filter((f) => under(f, 'example')).length).toBeGreaterThan(0);
    // Every local import resolves to a file it checks: a miss would hide edges.
    const known = new Set(files);
    expect(edges.filter((e) => e.local && !known.has(e.to)).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('has no import cycle (an `import type` closes one as surely as any other)', () => {
    const graph = new Map<string, string[]>();
    for (const f of code) graph.set(f, []);
    for (const e of edges) if (e.local && graph.has(e.to)) graph.get(e.from)?.push(e.to);
    expect(cycles(graph)).toEqual([]);
  });

  it('lets the console take only types from schema/ (its bundle carries no zod, no drizzle)', () => {
    const valueImports = code
      .filter((f) => under(f, 'web'))
      .flatMap((f) =>
        [...readFileSync(join(REPO_ROOT, f), 'utf8').matchAll(IMPORT_FROM)]
          .filter(
            (m) =>
              !m[1] &&
              under(localFile(relative(REPO_ROOT, resolve(REPO_ROOT, dirname(f), m[2] as string))), 'schema'),
          )
          .map((m) => `${f} → ${m[2]}`),
      );
    expect(valueImports).toEqual([]);
  });

  it('no file of functions/ imports gpu-worker/ (nor the other way), and imports only go downward', () => {
    const offenders = edges
      .filter((e) => e.local && ALLOWED[floor(e.from)] && !ALLOWED[floor(e.from)]?.includes(floor(e.to)))
      .filter((e) => !(isOnDevice(e.from) && onDeviceMay(e.to)))
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
  });

  it('reaches the engine from outside engine/ only through its entry (tests and benchmarks: its helpers too)', () => {
    const outside = allEdges.filter((e) => e.local && under(e.to, 'engine') && !under(e.from, 'engine'));
    expect(outside.length).toBeGreaterThan(20);
    const offenders = outside
      .filter((e) => e.to !== ENGINE_ENTRY)
      .filter((e) => !(e.to === ENGINE_TESTING && (isTestCode(e.from) || under(e.from, 'bench'))))
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
  });

  it('lets the engine stand on engine/, web-only core/ and schema/ alone', () => {
    const offenders = allEdges
      .filter((e) => e.local && under(e.from, 'engine'))
      .filter((e) => !isTestCode(e.from) || !under(e.to, 'core/node'))
      .filter((e) => !['engine', 'core', 'schema'].includes(floor(e.to)) || under(e.to, 'core/node'))
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
  });

  it('keeps the web-only floors free of Node built-ins (the Workers entries: nodejs_compat only)', () => {
    const offenders = edges
      .filter((e) => !e.local && e.to.startsWith('node:'))
      .filter((e) => {
        if (under(e.from, 'runtime/workers')) return !NODEJS_COMPAT.has(e.to);
        return (
          under(e.from, 'functions') ||
          under(e.from, 'engine') ||
          under(e.from, 'sdk') ||
          under(e.from, 'web') ||
          under(e.from, 'example') ||
          (under(e.from, 'core') && !under(e.from, 'core/node'))
        );
      })
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
    const workersToNode = edges.filter(
      (e) =>
        e.local &&
        under(e.from, 'runtime/workers') &&
        (under(e.to, 'core/node') || under(e.to, 'gpu-worker')),
    );
    expect(workersToNode.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('keeps the SDK to web APIs: no package (on-device: onnxruntime-web), schema/ only as types (no zod)', () => {
    const sdk = edges.filter((e) => under(e.from, 'sdk'));
    expect(sdk.length).toBeGreaterThan(3);
    const packages = sdk.filter(
      (e) => !e.local && !(isOnDevice(e.from) && ON_DEVICE_PACKAGES.includes(e.to)),
    );
    expect(packages.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
    // What the SDK takes from schema/ (the zod contracts) must be `import type`: erased, so no zod ships.
    const valueImports = code
      .filter((f) => under(f, 'sdk'))
      .flatMap((f) =>
        [...readFileSync(join(REPO_ROOT, f), 'utf8').matchAll(IMPORT_FROM)]
          .filter(
            (m) =>
              !m[1] && under(relative(REPO_ROOT, resolve(REPO_ROOT, dirname(f), m[2] as string)), 'schema'),
          )
          .map((m) => `${f} → ${m[2]}`),
      );
    expect(valueImports).toEqual([]);
  });

  it('lets only core/db speak SQL (schema/ declares the tables; drivers open a database)', () => {
    const drivers = ['core/node/pglite.ts', 'runtime/workers/request-db.ts'];
    const offenders = edges
      .filter((e) => !e.local && /^drizzle-orm($|\/)/.test(e.to) && RUNTIME_FLOORS.includes(floor(e.from)))
      .filter((e) => !under(e.from, 'core/db') && !under(e.from, 'schema') && !drivers.includes(e.from))
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
  });

  it('never imports build code, benchmarks or test code from runtime code', () => {
    const offenders = edges
      .filter((e) => RUNTIME_FLOORS.includes(floor(e.from)))
      .filter((e) =>
        e.local
          ? isTestCode(e.to) || under(e.to, 'models/build') || under(e.to, 'bench')
          : e.to === 'vitest' || e.to.startsWith('vitest/'),
      )
      .map((e) => `${e.from} → ${e.to}`);
    expect(offenders).toEqual([]);
    // Benchmarks may start the same throwaway servers the tests do (loopback PostgreSQL), nothing else of test/.
    const SERVERS = ['test/support/postgres.ts'];
    const benchToTests = edges.filter(
      (e) => under(e.from, 'bench') && e.local && under(e.to, 'test') && !SERVERS.includes(e.to),
    );
    expect(benchToTests.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });
});
