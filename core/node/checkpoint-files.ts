// A Hugging Face checkpoint directory on this machine as the strict reader (core/model/hf-checkpoint.ts) reads
// it (the objects under a storage prefix: core/model/checkpoint-store.ts). Only plain files directly inside.
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { plainName } from '../model/checkpoint-store.js';
import type { CheckpointFiles } from '../model/hf-checkpoint.js';

export async function dirCheckpointFiles(dir: string): Promise<CheckpointFiles> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isFile() && plainName(e.name)).map((e) => e.name);
  const known = new Set(names);
  const at = (name: string) => (known.has(name) ? join(dir, name) : null);
  return {
    names,
    read: async (name) => {
      const p = at(name);
      return p ? new Uint8Array(await readFile(p)) : null;
    },
    head: async (name, bytes) => {
      const p = at(name);
      if (!p) return null;
      const fh = await open(p, 'r');
      try {
        const buf = new Uint8Array(bytes);
        const { bytesRead } = await fh.read(buf, 0, bytes, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    size: async (name) => {
      const p = at(name);
      return p ? (await stat(p)).size : null;
    },
  };
}

/**
 * What the API reads checkpoints on this machine with: a path resolves (links followed) only to a directory
 * inside one of `roots`, never to an arbitrary server path.
 */
export function localCheckpoints(roots: readonly string[]) {
  return {
    async resolve(path: string): Promise<string> {
      if (!isAbsolute(path)) throw new ApiPathError(`path: ${path} is not absolute`);
      const real = await realpath(path).catch(() => {
        throw new ApiPathError(`path: ${path} does not exist`);
      });
      for (const root of roots) {
        const r = await realpath(root).catch(() => null);
        if (r && (real === r || real.startsWith(r + sep))) {
          if (!(await stat(real)).isDirectory()) throw new ApiPathError(`path: ${path} is not a directory`);
          return real;
        }
      }
      throw new ApiPathError(
        `path: ${path} is outside the import roots (${roots.join(', ') || 'none'}; TAILOR_IMPORT_ROOTS)`,
      );
    },
    fromPath: dirCheckpointFiles,
  };
}

/** A path the API refuses to read (a 422 naming it). */
export class ApiPathError extends Error {
  override name = 'ApiPathError';
}
