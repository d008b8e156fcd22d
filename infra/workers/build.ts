// Bundles a Workers entry of functions/ for workerd: one ES module plus the .wasm files it imports, which
// stay separate files that the runtime loads as precompiled `CompiledWasm` modules (workerd cannot compile
// wasm bytes at run time; see runtime/workers/ort-wasm.ts).
//
//   npx tsx infra/workers/build.ts [entry] [--outdir DIR] [--minify] [--nodejs-compat]
//   default entry: runtime/workers/engine-worker.ts → infra/workers/dist/engine-worker/
//   the HTTP app:  runtime/workers/app-worker.ts --nodejs-compat --assets infra/workers/dist/app-worker-assets
//                  → infra/workers/dist/app-worker/ (+ the static files of /docs in app-worker-assets/)
//
// Output: DIR/index.mjs, DIR/<name>.wasm for each wasm import, DIR/meta.json (esbuild metafile). The
// bundle resolves packages with the conditions workerd uses (`workerd`, `worker`, `browser`), maps
// `onnxruntime-web` to `onnxruntime-web/wasm` (the plain wasm build: the default export is the
// JSEP/WebGPU build and wants the .jsep.wasm), leaves workerd's own `cloudflare:` modules external and
// refuses `node:` imports: functions/ must be Web-only. The one exception is a Worker that runs with the
// `nodejs_compat` flag (`nodejsCompat`): it may import exactly the built-ins in NODEJS_COMPAT_IMPORTS,
// which workerd itself provides under that flag, and only from the files named there (postgres.js's
// Workers build, and the Workers entries' own glue): the shared code under functions/ stays Web-only.
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { DOCS_ASSET_FILES, DOCS_ASSETS } from '../../functions/routes/openapi.js';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const DEFAULT_ENTRY = 'runtime/workers/engine-worker.ts';

export interface BuildWorkerOptions {
  /** Entry file, relative to the repository root or absolute. */
  entry?: string;
  /** Output folder; default `infra/workers/dist/<entry name>/`. It is emptied first. */
  outdir?: string;
  minify?: boolean;
  /** Write an external source map next to the bundle. Default true. */
  sourcemap?: boolean;
  /**
   * The Worker runs with `compatibility_flags = ["nodejs_compat"]`: allow the imports listed in
   * NODEJS_COMPAT_IMPORTS (and no other Node import). Default false.
   */
  nodejsCompat?: boolean;
  /**
   * Also write the static files the Worker's routes leave to Cloudflare's static assets (Swagger UI's, for
   * /docs) into this folder (`[assets] directory` in the wrangler config). It is emptied first.
   */
  assetsDir?: string;
}

export interface BuiltWorker {
  outdir: string;
  /** The bundle: `<outdir>/index.mjs`. */
  main: string;
  /** The .wasm files copied next to it (absolute paths), to upload as `CompiledWasm` modules. */
  wasm: string[];
  /**
   * Modules as Miniflare's `modules` option wants them: the bundle first, then the wasm. (Miniflare's
   * automatic module discovery refuses the dynamic import in ORT's bundle, so list them explicitly.)
   */
  modules: { type: 'ESModule' | 'CompiledWasm'; path: string }[];
  metafile: esbuild.Metafile;
  /**
   * Every `node:` (or Node builtin) import left in the bundle: empty, or (with `nodejsCompat`) only
   * specifiers of NODEJS_COMPAT_IMPORTS imported from the files allowed there; anything else fails the build.
   */
  nodeImports: string[];
}

/**
 * The Node built-ins a `nodejsCompat` build may import, each with the input files (paths relative to the
 * repository root, as esbuild's metafile names them) allowed to import it. workerd implements all of them
 * natively under the `nodejs_compat` flag (no polyfill is bundled; `wrangler deploy` with `no_bundle`
 * uploads the imports as they are).
 *
 * - postgres.js's Workers build (`postgres/cf/`, chosen by the `workerd` export condition): `Buffer` for its
 *   wire protocol, `EventEmitter` for its socket shim over `cloudflare:sockets`, `Stream` for COPY and large
 *   objects (unused by Tailor, imported at the top of its modules).
 * - `node:async_hooks` (AsyncLocalStorage) for the app entry's request-scoped database handle
 *   (runtime/workers/request-db.ts): a socket belongs to the request that opened it on Workers.
 */
export const NODEJS_COMPAT_IMPORTS: Readonly<Record<string, RegExp>> = {
  'node:buffer': /^node_modules\/postgres\/cf\//,
  'node:events': /^node_modules\/postgres\/cf\//,
  'node:stream': /^node_modules\/postgres\/cf\//,
  'node:async_hooks': /^runtime\/workers\//,
};

const NODE_BUILTIN =
  /^(node:|(assert|buffer|child_process|crypto|events|fs|http|https|module|net|os|path|perf_hooks|process|stream|url|util|worker_threads|zlib)(\/|$))/;

/** The esbuild plugin: the ORT alias, and .wasm imports kept external as sibling files (collected). */
function workersPlugin(wasmFiles: Map<string, string>): esbuild.Plugin {
  const SKIP = Symbol('tailor.resolving');
  return {
    name: 'tailor-workers',
    setup(build) {
      build.onResolve({ filter: /^onnxruntime-web$/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        const r = await build.resolve('onnxruntime-web/wasm', {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: SKIP,
        });
        return r.errors.length ? { errors: r.errors } : { path: r.path };
      });
      build.onResolve({ filter: /\.wasm$/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        const r = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: SKIP,
        });
        if (r.errors.length) return { errors: r.errors };
        const name = basename(r.path);
        const seen = wasmFiles.get(name);
        if (seen && seen !== r.path)
          return { errors: [{ text: `two different wasm files are named ${name}: ${seen}, ${r.path}` }] };
        wasmFiles.set(name, r.path);
        return { path: `./${name}`, external: true };
      });
      // Keep node: imports resolvable so the check below can name them all instead of failing on the first.
      build.onResolve({ filter: NODE_BUILTIN }, (args) => ({ path: args.path, external: true }));
      // workerd's built-in modules (`cloudflare:sockets`, which postgres.js imports lazily): the runtime's.
      build.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, external: true }));
    },
  };
}

export async function buildWorker(opts: BuildWorkerOptions = {}): Promise<BuiltWorker> {
  const entry = resolve(repoRoot, opts.entry ?? DEFAULT_ENTRY);
  const name = basename(entry).replace(/\.[cm]?[jt]s$/, '');
  const outdir = resolve(opts.outdir ?? join(repoRoot, 'infra/workers/dist', name));
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  const wasmFiles = new Map<string, string>();
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: repoRoot, // metafile paths are relative to the repository root
    outfile: join(outdir, 'index.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    plugins: [workersPlugin(wasmFiles)],
    minify: opts.minify ?? false,
    sourcemap: opts.sourcemap ?? true,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });

  const nodeImports = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) if (NODE_BUILTIN.test(imp.path)) nodeImports.add(imp.path);
  }
  const refused: string[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (!NODE_BUILTIN.test(imp.path)) continue;
      const allowedFrom = opts.nodejsCompat ? NODEJS_COMPAT_IMPORTS[imp.path] : undefined;
      if (!allowedFrom?.test(file)) refused.push(`${imp.path} from ${file}`);
    }
  }
  if (refused.length > 0) {
    throw new Error(
      `the Workers bundle of ${relative(repoRoot, entry)} imports Node modules (${refused.join('; ')}): ` +
        'code under functions/ must use Web APIs only' +
        (opts.nodejsCompat
          ? ` (a nodejs_compat build allows only ${Object.keys(NODEJS_COMPAT_IMPORTS).join(', ')}, from the files listed in NODEJS_COMPAT_IMPORTS)`
          : '; a Worker that runs with the nodejs_compat flag may be built with nodejsCompat (--nodejs-compat), which allows a short list of them'),
    );
  }

  const wasm: string[] = [];
  for (const [file, from] of wasmFiles) {
    const to = join(outdir, file);
    await copyFile(from, to);
    wasm.push(to);
  }
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  if (opts.assetsDir) await writeStaticAssets(resolve(opts.assetsDir));
  const main = join(outdir, 'index.mjs');
  return {
    outdir,
    main,
    wasm,
    modules: [
      { type: 'ESModule', path: main },
      ...wasm.map((path) => ({ type: 'CompiledWasm' as const, path })),
    ],
    metafile: result.metafile,
    nodeImports: [...nodeImports],
  };
}

/**
 * Swagger UI's files under docs/assets/, where the /docs page loads them from, and the console's build
 * (web/dist, when built) under console/: Cloudflare serves /console/ as console/index.html.
 */
export async function writeStaticAssets(dir: string): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  const docs = join(dir, DOCS_ASSETS.replace(/^\/|\/$/g, ''));
  await mkdir(docs, { recursive: true });
  const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  for (const f of DOCS_ASSET_FILES) await copyFile(join(swagger, f), join(docs, f));
  const written = DOCS_ASSET_FILES.map((f) => join(docs, f));
  const web = join(repoRoot, 'web', 'dist');
  if (existsSync(join(web, 'index.html'))) {
    await cp(web, join(dir, 'console'), { recursive: true });
    written.push(join(dir, 'console', 'index.html'));
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  let entry: string | undefined;
  let outdir: string | undefined;
  let minify = false;
  let nodejsCompat = false;
  let assetsDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--outdir') outdir = argv[++i];
    else if (a === '--assets') assetsDir = argv[++i];
    else if (a === '--minify') minify = true;
    else if (a === '--nodejs-compat') nodejsCompat = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else entry = a;
  }
  const t0 = performance.now();
  const built = await buildWorker({
    entry,
    outdir,
    minify,
    nodejsCompat,
    ...(assetsDir ? { assetsDir } : {}),
  });
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const size = Object.entries(built.metafile.outputs).find(([f]) => f.endsWith('index.mjs'))?.[1].bytes ?? 0;
  console.log(
    `built ${relative(repoRoot, built.main)} (${kb(size)}) + ${built.wasm.map((w) => relative(repoRoot, w)).join(', ')} ` +
      `in ${(performance.now() - t0).toFixed(0)} ms`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
