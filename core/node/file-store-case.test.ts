// A case-insensitive file system (macOS, Windows) under the FileStore, simulated by folding the case of every
// path below the test's root the way such a system resolves names (readdir keeps the names as created).
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { deletePrefix } from '../storage/delete-prefix.js';
import { FileStore } from './file-store.js';

const folded = vi.hoisted(() => ({ root: '' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const fold = (p: unknown): string => {
    const path = String(p);
    if (!folded.root || !path.startsWith(folded.root)) return path;
    let at = folded.root;
    for (const seg of path.slice(folded.root.length).split('/').filter(Boolean)) {
      const exact = join(at, seg);
      const found = existsSync(exact)
        ? seg
        : existsSync(at)
          ? readdirSync(at).find((n) => n.toLowerCase() === seg.toLowerCase())
          : undefined;
      at = join(at, found ?? seg);
    }
    return at;
  };
  const wrap =
    <A extends unknown[], R>(f: (p: string, ...rest: A) => R) =>
    (p: unknown, ...rest: A) =>
      f(fold(p), ...rest);
  return {
    ...real,
    readdir: wrap(real.readdir as (p: string, ...r: unknown[]) => unknown),
    readFile: wrap(real.readFile as (p: string, ...r: unknown[]) => unknown),
    writeFile: wrap(real.writeFile as (p: string, ...r: unknown[]) => unknown),
    stat: wrap(real.stat as (p: string, ...r: unknown[]) => unknown),
    rm: wrap(real.rm as (p: string, ...r: unknown[]) => unknown),
    rmdir: wrap(real.rmdir as (p: string, ...r: unknown[]) => unknown),
    mkdir: wrap(real.mkdir as (p: string, ...r: unknown[]) => unknown),
    rename: (a: unknown, b: unknown) => real.rename(fold(a), fold(b)),
  };
});

describe('FileStore on a case-insensitive file system', () => {
  it("lists a folder only under its exact spelling: erasing Bob's old-layout folder leaves bob's files", async () => {
    folded.root = await mkdtemp(join(tmpdir(), 'tailor-case-'));
    const store = new FileStore(folded.root);
    const bobs = 'adapters/app_1/bob/v1/adapter_model.safetensors';
    await store.put(bobs, new Uint8Array([1, 2, 3]));
    // The simulation folds case as such a system does: Bob's spelling opens bob's file.
    expect(await store.get('adapters/app_1/Bob/v1/adapter_model.safetensors')).not.toBeNull();
    expect(await store.list('adapters/app_1/Bob/')).toEqual([]);
    expect(await deletePrefix(store, 'adapters/app_1/Bob/')).toBe(0);
    expect(await store.get(bobs)).toEqual(new Uint8Array([1, 2, 3]));
    expect((await store.list('adapters/app_1/bob/')).map((b) => b.key)).toEqual([bobs]);
  });
});
