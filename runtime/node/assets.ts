// The static files the Node platform serves itself: Swagger UI's (from the swagger-ui-dist package) under
// docs/. Read from disk on first use and kept; only the files named here are served.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { StaticAssets } from '../../functions/deps.js';
import { DOCS_ASSET_FILES } from '../../functions/routes/openapi.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

export function nodeAssets(): StaticAssets {
  const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = new Map(DOCS_ASSET_FILES.map((f) => [`docs/${f}`, join(swagger, f)]));
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
