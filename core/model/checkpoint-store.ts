// A Hugging Face checkpoint stored as the objects under a prefix (`imports/<upload>/`: the CLI's uploads, or an
// operator's bucket), as the strict reader (hf-checkpoint.ts) reads it. Web APIs only.
import type { BlobStore } from '../storage/store.js';
import type { CheckpointFiles } from './hf-checkpoint.js';

/** A file name directly inside the checkpoint: no folder, no parent, not hidden. */
export const plainName = (n: string): boolean =>
  n.length > 0 && n.length <= 255 && !n.includes('/') && !n.includes('\\') && !n.startsWith('.');

export async function storeCheckpointFiles(store: BlobStore, prefix: string): Promise<CheckpointFiles> {
  const listed = await store.list(prefix);
  const sizes = new Map(
    listed.map((b) => [b.key.slice(prefix.length), b.size] as const).filter(([n]) => plainName(n)),
  );
  const key = (name: string) => (sizes.has(name) ? prefix + name : null);
  return {
    names: [...sizes.keys()],
    read: async (name) => {
      const k = key(name);
      return k ? store.get(k) : null;
    },
    head: async (name, bytes) => {
      const k = key(name);
      if (!k || bytes <= 0) return null;
      const size = sizes.get(name) ?? 0;
      if (size === 0) return new Uint8Array(0);
      const s = await store.getStream(k, { start: 0, end: Math.min(bytes, size) - 1 });
      if (!s) return null;
      return new Uint8Array(await new Response(s.body).arrayBuffer());
    },
    size: async (name) => sizes.get(name) ?? null,
  };
}
