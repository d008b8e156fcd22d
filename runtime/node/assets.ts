// The static files the Node platform serves itself: Swagger UI's (from the swagger-ui-dist package) under
// docs/, the console's build (web/dist) under console/, the example app's (example/dist) under example/.
// Read from disk on first use and kept; only the files named here, or present in those builds, are served.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../core/node/repo.js';
import type { StaticAssets } from '../../functions/deps.js';
import { DOCS_ASSET_FILES } from '../../functions/routes/openapi.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** Where `npm start` builds the console (scripts/build-console.sh). */
export const CONSOLE_DIST = join(REPO_ROOT, 'web', 'dist');

/** Where `npm start` builds the example app (scripts/build-example.sh). */
export const EXAMPLE_DIST = join(REPO_ROOT, 'example', 'dist');

/** The example's built files, and onnxruntime-web's wasm (the same build the server runs) under ort/. */
function exampleFiles(dist: string): [string, string][] {
  if (!existsSync(join(dist, 'index.html'))) return [];
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  return [
    ...readdirSync(dist).map((f): [string, string] => [`example/${f}`, join(dist, f)]),
    ['example/ort/ort-wasm-simd-threaded.wasm', join(ortDist, 'ort-wasm-simd-threaded.wasm')],
  ];
}

/** The console's built files: index.html and assets/<hashed name>, nothing else. */
function consoleFiles(dist: string): [string, string][] {
  if (!existsSync(join(dist, 'index.html'))) return [];
  const assets = existsSync(join(dist, 'assets')) ? readdirSync(join(dist, 'assets')) : [];
  return [
    ['console/index.html', join(dist, 'index.html')],
    ...assets.map((f): [string, string] => [`console/assets/${f}`, join(dist, 'assets', f)]),
  ];
}

export function nodeAssets(consoleDist = CONSOLE_DIST, exampleDist = EXAMPLE_DIST): StaticAssets {
  const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = new Map([
    ...DOCS_ASSET_FILES.map((f): [string, string] => [`docs/${f}`, join(swagger, f)]),
    ...consoleFiles(consoleDist),
    ...exampleFiles(exampleDist),
  ]);
  const cache = new Map<string, Promise<{ body: Uint8Array; type: string }>>();
  return {
    async get(path) {
      const file = files.get(path);
      if (!file) return null;
      let hit = cache.get(path);
      if (!hit) {
        hit = readFile(file).then((body) => ({
          body,
          type: TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream',
        }));
        cache.set(path, hit);
      }
      return hit;
    },
  };
}
