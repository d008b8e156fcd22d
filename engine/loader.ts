// Where an engine gets an adapter version's files on a cache miss: one interface, given to the engine when it
// is built, on its side of any thread boundary (requests carry only references, refs.ts). Two implementations:
// storage (servers: this file) and signed links (devices: sdk/src/local-loader.ts).
import { BadPackageError, readAdapterFiles } from '../core/adapters/package.js';
import { type BlobStore, StorageError, StorageUnavailableError } from '../core/storage/store.js';
import type { AdapterFiles } from './adapter.js';
import { AdapterError, EngineError } from './errors.js';
import type { AdapterRef } from './refs.js';

/** The base model a load is for: its id, and its weights' hash when known (a package's manifest must name both). */
export interface BaseIdentity {
  id: string;
  hash?: string;
}

export interface AdapterLoader {
  /**
   * The two files of the version `ref` names, for an engine serving `base`. Throws an EngineError with its code
   * (`adapter_missing`, `storage_unavailable`, `adapter_invalid` for a package made for another base…); the
   * engine parses and checks the files themselves.
   */
  load(ref: AdapterRef, base: BaseIdentity): Promise<AdapterFiles>;
}

/**
 * Reads the package under the ref's key from a BlobStore. With the base's hash known, the package's manifest
 * (tailor.json) must name that base and hash: an adapter trained against other weights is refused before it
 * is parsed.
 */
export class StoreAdapterLoader implements AdapterLoader {
  constructor(private readonly store: BlobStore) {}

  async load(ref: AdapterRef, base: BaseIdentity): Promise<AdapterFiles> {
    const check = base.hash ? { baseModel: { id: base.id, hash: base.hash } } : {};
    try {
      return await readAdapterFiles(this.store, ref.key, check);
    } catch (e) {
      if (e instanceof BadPackageError) throw new AdapterError(e.message, { cause: e });
      if (e instanceof StorageUnavailableError)
        throw new EngineError('storage_unavailable', e.message, { cause: e });
      if (e instanceof StorageError) throw new EngineError('adapter_missing', e.message, { cause: e });
      throw e;
    }
  }
}

/** The loader of an engine given none: it serves the base model alone. */
export const NO_ADAPTERS: AdapterLoader = {
  load: async (ref) => {
    throw new EngineError('adapter_missing', `adapter ${ref.key}: this engine has no adapter loader`);
  },
};
