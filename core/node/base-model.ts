// Publishes a shipped base model package (models/<id>/ in the repository) to the configured storage and
// records it in the database, once: a marker file written last holds the weights' hash, so a restart with
// the same files does nothing and an interrupted upload is redone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { upsertBaseModel } from '../db/base-models.js';
import type { Db } from '../db/database.js';
import { MODEL_MARKER, type ModelMarker } from '../model/package-files.js';
import type { BlobStore } from '../storage/store.js';

export const PACKAGE_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'model.onnx',
  'model.safetensors',
];
/**
 * Published when the package has them: general training text the worker mixes into user training, and the
 * pretraining log and card the console's model page shows.
 */
const OPTIONAL_FILES = ['replay.bin', 'train_log.jsonl', 'README.md', 'generation_config.json'];

export async function publishBaseModel(
  store: BlobStore,
  db: Db,
  modelsDir: string,
  id: string,
): Promise<{ prefix: string; hash: string; uploaded: boolean }> {
  const dir = join(modelsDir, id);
  const prefix = `models/${id}/`;
  const names = [...PACKAGE_FILES, ...OPTIONAL_FILES.filter((n) => existsSync(join(dir, n)))];
  const files = new Map<string, Buffer>();
  for (const name of names) files.set(name, await readFile(join(dir, name)));
  // The weights' hash identifies the model adapters are trained against; the package's covers every file,
  // so a changed config or replay file is published again too.
  const hash = createHash('sha256')
    .update(files.get('model.safetensors') as Buffer)
    .digest('hex');
  const all = createHash('sha256');
  for (const name of names) all.update(name).update(files.get(name) as Buffer);
  const packageHash = all.digest('hex');
  const stored = await store.get(prefix + MODEL_MARKER);
  const marker = stored ? (JSON.parse(new TextDecoder().decode(stored)) as ModelMarker) : null;
  let uploaded = false;
  if (marker?.packageHash !== packageHash) {
    for (const name of names) await store.put(prefix + name, files.get(name) as Buffer);
    uploaded = true;
  }
  if (uploaded || !marker?.digests) {
    const digests = Object.fromEntries(
      names.map((n) => {
        const bytes = files.get(n) as Buffer;
        return [n, { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }];
      }),
    );
    const next: ModelMarker = { id, hash, packageHash, files: names, digests };
    await store.put(prefix + MODEL_MARKER, new TextEncoder().encode(JSON.stringify(next)));
  }
  const config = JSON.parse((files.get('config.json') as Buffer).toString('utf8')) as Record<string, unknown>;
  await upsertBaseModel(db, { id, storagePrefix: prefix, hash, config });
  return { prefix, hash, uploaded };
}
