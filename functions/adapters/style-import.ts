// Importing an existing PEFT LoRA adapter as a style version: checked by the engine's strict reader against
// the base model's shape (anything malformed or made for another model is refused), then published and made
// the style's active version. There is no held-out data to gate on: the operator chose this adapter.
// Web APIs only: the admin API runs it.

import type { PackageFiles } from '../../core/adapters/package.js';
import { type Published, publishAdapter } from '../../core/adapters/publish.js';
import type { AdapterOwner } from '../../core/db/adapters.js';
import type { Db } from '../../core/db/database.js';
import type { DecoderShape } from '../../core/model/config.js';
import type { BlobStore } from '../../core/storage/store.js';
import { sha256Hex } from '../../core/util/encoding.js';
import { type AdapterLimits, parseAdapter } from '../../engine/index.js';

export interface StyleImport {
  appId: string;
  styleId: string;
  files: PackageFiles;
  baseModel: { id: string; hash: string };
  shape: DecoderShape;
  limits: AdapterLimits;
}

/** Throws the engine's AdapterError when the files are refused. */
export async function importStyleAdapter(db: Db, store: BlobStore, input: StyleImport): Promise<Published> {
  const adapter = parseAdapter(input.files, input.shape, input.limits);
  const owner: AdapterOwner = { appId: input.appId, styleId: input.styleId };
  return publishAdapter(db, store, {
    owner,
    files: input.files,
    baseModel: input.baseModel,
    dataHash: await sha256Hex(input.files.config, input.files.weights),
    metrics: {
      imported: true,
      r: adapter.rank,
      alpha: adapter.alpha,
      modules: adapter.modules.size,
      bytes: input.files.config.byteLength + input.files.weights.byteLength,
    },
    promote: true,
  });
}
