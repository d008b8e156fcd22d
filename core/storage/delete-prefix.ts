// Deletes every object under a prefix (an adapter version's folder, a user's adapters on erasure).

import { type BlobStore, StorageError } from './store.js';

/** The prefix must name a folder (end with `/`): a bare `adapters/app/u1` would also hit `u10`. */
export async function deletePrefix(store: BlobStore, prefix: string, concurrency = 8): Promise<number> {
  if (!prefix.endsWith('/') || prefix === '/') {
    throw new StorageError(`deletePrefix needs a folder prefix ending with '/': ${JSON.stringify(prefix)}`);
  }
  const keys = (await store.list(prefix)).map((b) => b.key);
  for (let i = 0; i < keys.length; i += concurrency) {
    await Promise.all(keys.slice(i, i + concurrency).map((k) => store.delete(k)));
  }
  return keys.length;
}
