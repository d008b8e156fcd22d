// An adapter package in storage (docs/architecture.md, "Adapter package"): its file names, its manifest, and
// how a server reads the two files an engine needs back. No database here: the engine's store loader reads
// packages through this file on Node, Workers and in worker threads alike. Publishing is publish.ts.
import type { FileDigests } from '../model/package-files.js';
import { type BlobStore, StorageError, StorageUnavailableError } from '../storage/store.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const PACKAGE_MANIFEST = 'tailor.json';

export interface PackageFiles {
  config: Uint8Array;
  weights: Uint8Array;
}

/** A stored package that can never be served: the version is marked bad rather than read again. */
export class BadPackageError extends Error {
  override name = 'BadPackageError';
}

/**
 * The two files an engine needs of the version under `prefix`. A StorageError when either is missing, a
 * StorageUnavailable error when storage does not answer (neither message names a server path). With
 * `baseModel`, the package's manifest must name that base model (id and weights' hash): an adapter trained
 * against other weights is refused (BadPackageError) before any engine parses it.
 */
export async function readAdapterFiles(
  store: BlobStore,
  prefix: string,
  opts: { baseModel?: { id: string; hash: string } } = {},
): Promise<PackageFiles> {
  let config: Uint8Array | null;
  let weights: Uint8Array | null;
  let manifest: Uint8Array | null = null;
  try {
    [config, weights, manifest] = await Promise.all([
      store.get(prefix + ADAPTER_CONFIG),
      store.get(prefix + ADAPTER_WEIGHTS),
      opts.baseModel ? store.get(prefix + PACKAGE_MANIFEST) : Promise.resolve(null),
    ]);
  } catch (e) {
    throw new StorageUnavailableError('storage did not answer while reading the adapter files', { cause: e });
  }
  if (!config || !weights) throw new StorageError(`adapter files missing under ${prefix}`);
  if (opts.baseModel && manifest) checkManifestBase(manifest, opts.baseModel);
  return { config, weights };
}

function checkManifestBase(bytes: Uint8Array, want: { id: string; hash: string }): void {
  let base: { id?: unknown; hash?: unknown } | undefined;
  try {
    base = (JSON.parse(new TextDecoder().decode(bytes)) as Partial<PackageManifest>).base_model;
  } catch {
    throw new BadPackageError('tailor.json: not JSON');
  }
  if (!base || base.id !== want.id || base.hash !== want.hash) {
    throw new BadPackageError(
      `tailor.json: trained for base model ${String(base?.id)} (${String(base?.hash).slice(0, 12)}), this server serves ${want.id} (${want.hash.slice(0, 12)})`,
    );
  }
}

/** The `tailor.json` of a package. */
export interface PackageManifest {
  format: 'tailor-adapter/1';
  owner: { app: string; user: string } | { app: string; style: string };
  version: string;
  base_model: { id: string; hash: string };
  /** SHA-256 over the training data (token ids), or of the imported files. */
  data_hash: string;
  metrics: Record<string, unknown>;
  created_at: string;
  /** The package's other files as published (manifests written before these were recorded lack it). */
  files?: FileDigests;
}
