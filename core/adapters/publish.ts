// Publishing an adapter version (docs/architecture.md, "Adapter package"). The protocol:
//   1. pick a fresh, immutable version string and check nothing is stored under its prefix;
//   2. write the package completely: adapter_config.json, adapter_model.safetensors, then tailor.json last
//      (its presence marks a complete package; it records the other two files' SHA-256 and size, which
//      download links name and the signed-file route checks without reading the files);
//   3. only then, in one transaction, insert the adapter row and (if the gate passed) flip the owner's active
//      version to it.
// A crash before 3 leaves the old version active and no database row pointing at the partial files (at worst
// orphan objects under an unreferenced prefix). Web APIs only: the admin API's style import uses it too.
// The package's files and how a server reads them back: package.ts.

import type { Adapter } from '../../schema/tables.js';
import { type AdapterOwner, insertAdapter, promoteAdapter } from '../db/adapters.js';
import type { Db } from '../db/database.js';
import { erasureEpoch, lockUserForErasure } from '../db/erasures.js';
import { deletePrefix } from '../storage/delete-prefix.js';
import { styleAdaptersPrefix, userAdaptersPrefix } from '../storage/keys.js';
import type { BlobStore } from '../storage/store.js';
import { sha256Hex } from '../util/encoding.js';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  PACKAGE_MANIFEST,
  type PackageFiles,
  type PackageManifest,
} from './package.js';

/** `v20261128-043012-ab12`: UTC time to the second and a random suffix. Sorts by creation time. */
export function newVersion(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `v${t}-${[...rand].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function adapterPrefix(owner: AdapterOwner, version: string): string {
  // Styles live outside adapters/{app}/ so that erasing a user named like a style folder cannot touch them.
  return 'userId' in owner
    ? `${userAdaptersPrefix(owner.appId, owner.userId)}${version}/`
    : `${styleAdaptersPrefix(owner.appId, owner.styleId)}${version}/`;
}

export interface PublishInput {
  owner: AdapterOwner;
  files: PackageFiles;
  baseModel: { id: string; hash: string };
  dataHash: string;
  metrics: Record<string, unknown>;
  /** true: the version becomes the active one; false: it is recorded as rejected. */
  promote: boolean;
  /** created_at of the newest feedback trained on. */
  dataUntil?: Date | null;
  /**
   * A user's erase epoch when their feedback was read (core/db/erasures.ts): the version is refused if they were
   * erased since, even if the same id came back with new feedback.
   */
  fence?: { userHash: string; epoch: number };
  jobId?: string | null;
  now?: Date;
}

/** The owner was erased after their training data was read: nothing of that data may be published. */
export class ErasedSinceError extends Error {
  override name = 'ErasedSinceError';
}

export interface Published {
  adapter: Adapter;
  /** The version that was active before and is now retired (promotions only). */
  retired: Adapter | null;
}

const digestOf = async (bytes: Uint8Array) => ({ sha256: await sha256Hex(bytes), size: bytes.byteLength });

export async function publishAdapter(db: Db, store: BlobStore, input: PublishInput): Promise<Published> {
  const now = input.now ?? new Date();
  let version = newVersion(now);
  let prefix = adapterPrefix(input.owner, version);
  for (let tries = 0; (await store.list(prefix)).length > 0; tries++) {
    if (tries > 5) throw new Error(`no free version prefix for ${prefix}`);
    version = newVersion(now);
    prefix = adapterPrefix(input.owner, version);
  }
  const manifest: PackageManifest = {
    format: 'tailor-adapter/1',
    owner:
      'userId' in input.owner
        ? { app: input.owner.appId, user: input.owner.userId }
        : { app: input.owner.appId, style: input.owner.styleId },
    version,
    base_model: input.baseModel,
    data_hash: input.dataHash,
    metrics: input.metrics,
    created_at: now.toISOString(),
    files: {
      [ADAPTER_CONFIG]: await digestOf(input.files.config),
      [ADAPTER_WEIGHTS]: await digestOf(input.files.weights),
    },
  };
  await store.put(prefix + ADAPTER_CONFIG, input.files.config, { contentType: 'application/json' });
  await store.put(prefix + ADAPTER_WEIGHTS, input.files.weights, { contentType: 'application/octet-stream' });
  await store.put(
    prefix + PACKAGE_MANIFEST,
    new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    {
      contentType: 'application/json',
    },
  );
  try {
    return await insertAndFlip(db, input, version, prefix);
  } catch (e) {
    // The files of a refused version go too: the erasure may have deleted the user's folder before they
    // were written.
    if (e instanceof ErasedSinceError) await deletePrefix(store, prefix);
    throw e;
  }
}

async function insertAndFlip(
  db: Db,
  input: PublishInput,
  version: string,
  prefix: string,
): Promise<Published> {
  return db.transaction(async (tx) => {
    const { fence } = input;
    if (fence && 'userId' in input.owner) {
      // The erasure lock: an erasure of this user waits for this transaction, or this one sees its epoch.
      await lockUserForErasure(tx, input.owner.appId, fence.userHash);
      if ((await erasureEpoch(tx, input.owner.appId, fence.userHash)) !== fence.epoch)
        throw new ErasedSinceError('the user was erased after their feedback was read for this version');
    }
    const adapter = await insertAdapter(tx, input.owner, {
      version,
      storagePrefix: prefix,
      baseModelId: input.baseModel.id,
      status: input.promote ? 'candidate' : 'rejected',
      metrics: input.metrics,
      dataUntil: input.dataUntil ?? null,
      jobId: input.jobId ?? null,
    });
    if (!input.promote) return { adapter, retired: null };
    const flip = await promoteAdapter(tx, input.owner, version);
    return { adapter: flip.active, retired: flip.retired };
  });
}
