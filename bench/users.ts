// Distinct users' rank-8 adapters on disk: a FileStore under bench/tmp/ holding
// `adapters/bench/u<i>/v1/{adapter_config.json, adapter_model.safetensors}`. Writing a thousand takes a
// while (random tensors, fsync'd puts), so the set is kept between runs and only topped up; a manifest
// records the model shape it was made for.
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore } from '../core/node/file-store.js';
import type { ModelPackage } from '../engine/index.js';
import { putAdapter, rankAdapter, TMP } from './setup.js';

export const USERS_DIR = join(TMP, 'users-r8');

export interface UserAdapters {
  store: FileStore;
  /** Version prefixes, one per user. */
  prefixes: string[];
  /** Bytes of one user's files (config + weights). */
  fileBytes: number;
}

export async function userAdapters(
  pkg: ModelPackage,
  count: number,
  log: (m: string) => void,
): Promise<UserAdapters> {
  const store = new FileStore(USERS_DIR);
  const manifestPath = join(USERS_DIR, 'manifest.json');
  const shape = JSON.stringify({ shape: pkg.shape, rank: 8 });
  let have = 0;
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { shape: string; count: number };
    if (m.shape === shape) have = m.count;
    else await rm(join(USERS_DIR, 'adapters'), { recursive: true, force: true });
  }
  if (have < count) {
    log(`writing ${count - have} rank-8 adapters to ${USERS_DIR}`);
    for (let i = have; i < count; i++) await putAdapter(store, `u${i}`, rankAdapter(pkg, 1000 + i, 8));
    await writeFile(manifestPath, JSON.stringify({ shape, count }));
  }
  const prefixes = Array.from({ length: count }, (_, i) => `adapters/bench/u${i}/v1/`);
  const first = prefixes[0] as string;
  const fileBytes =
    ((await store.head(`${first}adapter_config.json`))?.size ?? 0) +
    ((await store.head(`${first}adapter_model.safetensors`))?.size ?? 0);
  return { store, prefixes, fileBytes };
}
