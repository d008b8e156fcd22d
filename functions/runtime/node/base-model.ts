// Publishes a shipped base model package (models/<id>/ in the repository) to the configured storage and
// records it in the database, once: a marker file written last holds the weights' hash, so a restart with
// the same files does nothing and an interrupted upload is redone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { upsertBaseModel } from '../../db/base-models.js';
import type { Db } from '../../db/database.js';
import type { BlobStore } from '../../storage/store.js';

export const PACKAGE_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'model.onnx',
  'model.safetensors',
];
/** Published when the package has them: general training text the worker mixes into user training. */
const OPTIONAL_FILES = ['replay.bin'];
const MARKER = 'tailor-package.json';

export async function publishBaseModel(
  store: BlobStore,
  db: Db,
  modelsDir: string,
  id: string,
): Promise<{ prefix: string; hash: string; uploaded: boolean }> {
  const dir = join(modelsDir, id);
  const prefix = `models/${id}/`;
  const weights = await readFile(join(dir, 'model.safetensors'));
  const hash = createHash('sha256').update(weights).digest('hex');
  const marker = await store.get(prefix + MARKER);
  let uploaded = false;
  if (!marker || JSON.parse(new TextDecoder().decode(marker)).hash !== hash) {
    for (const name of PACKAGE_FILES) await store.put(prefix + name, await readFile(join(dir, name)));
    for (const name of OPTIONAL_FILES) {
      if (existsSync(join(dir, name))) await store.put(prefix + name, await readFile(join(dir, name)));
    }
    await store.put(
      prefix + MARKER,
      new TextEncoder().encode(JSON.stringify({ id, hash, files: PACKAGE_FILES })),
    );
    uploaded = true;
  }
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  await upsertBaseModel(db, { id, storagePrefix: prefix, hash, config });
  return { prefix, hash, uploaded };
}
