// The base model as the worker needs it: a local directory the trainer reads (config.json,
// model.safetensors), the tokenizer that turns feedback into token ids, and its hash.
// In the API's process the repository's models/<id>/ serves; a standalone worker downloads the package from
// storage once into a cache under TAILOR_DATA_DIR (checked against the hash recorded in the database).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getBaseModel } from '../core/db/base-models.js';
import type { Db } from '../core/db/database.js';
import type { BaseModelConfig } from '../core/model/config.js';
import { TextTokenizer, type TokenizerJson } from '../core/model/tokenizer.js';
import { readReplayBytes } from '../core/node/replay.js';
import type { BlobStore } from '../core/storage/store.js';
import { PermanentJobError } from '../core/training/jobs.js';

export interface LocalBaseModel {
  id: string;
  dir: string;
  hash: string;
  config: BaseModelConfig;
  tokenizer: TextTokenizer;
  /** Windows of the base model's training text (token ids), mixed into user training; empty when absent. */
  replay: number[][];
}

/** The files the trainer and the tokenizer read (the ONNX graph is the edge's). */
const WORKER_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'model.safetensors',
  'replay.bin',
];
const OPTIONAL_FILES = new Set(['tokenizer_config.json', 'replay.bin']);
const COMPLETE = '.complete';

export interface BaseModelSource {
  db: Db;
  store: BlobStore;
  /** Where downloaded packages are kept (`<TAILOR_DATA_DIR>/worker-cache`). */
  cacheDir: string;
  /** Local package directories by model id (the repository's models/<id>/), used as they are. */
  localDirs?: Record<string, string>;
}

export class BaseModels {
  private readonly loaded = new Map<string, Promise<LocalBaseModel>>();

  constructor(private readonly src: BaseModelSource) {}

  get(id: string): Promise<LocalBaseModel> {
    let p = this.loaded.get(id);
    if (!p) {
      p = this.load(id);
      this.loaded.set(id, p);
      p.catch(() => this.loaded.delete(id));
    }
    return p;
  }

  private async load(id: string): Promise<LocalBaseModel> {
    const row = await getBaseModel(this.src.db, id);
    const local = this.src.localDirs?.[id];
    let dir: string;
    let hash: string;
    if (local) {
      dir = local;
      hash =
        row?.hash ??
        createHash('sha256')
          .update(await readFile(join(dir, 'model.safetensors')))
          .digest('hex');
    } else {
      if (!row) throw new PermanentJobError(`base model ${id} is not published (no base_models row)`);
      hash = row.hash;
      dir = await this.download(id, row.storagePrefix, hash);
    }
    const json = async (name: string) => JSON.parse(await readFile(join(dir, name), 'utf8'));
    const config = (await json('config.json')) as BaseModelConfig;
    const tokenizerConfig = existsSync(join(dir, 'tokenizer_config.json'))
      ? await json('tokenizer_config.json')
      : {};
    const tokenizer = new TextTokenizer((await json('tokenizer.json')) as TokenizerJson, tokenizerConfig);
    return {
      id,
      dir,
      hash,
      config,
      tokenizer,
      replay: await readReplay(dir, config),
    };
  }

  private async download(id: string, prefix: string, hash: string): Promise<string> {
    const dir = join(this.src.cacheDir, 'models', `${id}-${hash.slice(0, 16)}`);
    if (existsSync(join(dir, COMPLETE))) return dir;
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await mkdir(tmp, { recursive: true });
    try {
      for (const name of WORKER_FILES) {
        const bytes = await this.src.store.get(prefix + name);
        if (!bytes) {
          if (OPTIONAL_FILES.has(name)) continue;
          throw new Error(`base model ${id}: ${prefix}${name} is missing from storage`);
        }
        if (name === 'model.safetensors') {
          const got = createHash('sha256').update(bytes).digest('hex');
          if (got !== hash) throw new Error(`base model ${id}: stored weights hash ${got}, expected ${hash}`);
        }
        await writeFile(join(tmp, name), bytes);
      }
      await writeFile(join(tmp, COMPLETE), `${hash}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return dir;
  }
}

/** `replay.bin` as token ids (config.json → tailor.replay; core/node/replay.ts). */
async function readReplay(dir: string, config: BaseModelConfig): Promise<number[][]> {
  const meta = config.tailor.replay;
  if (!meta || !existsSync(join(dir, meta.file))) return [];
  return readReplayBytes(new Uint8Array(await readFile(join(dir, meta.file))), meta);
}
