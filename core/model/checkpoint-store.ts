// A Hugging Face checkpoint stored as the objects under a prefix (`imports/<upload>/`: the CLI's uploads, or an
// operator's bucket), as the strict reader (hf-checkpoint.ts) reads it. Web APIs only.
import type { BlobStore } from '../storage/store.js';
import type { CheckpointFiles } from './hf-checkpoint.js';

/**
 * The files of a checkpoint directory an import takes: what `save_pretrained` writes that the import reads
 * (config and tokenizer JSON, a chat template file, safetensors weights and their index). Anything else in the
 * directory (vocab.json, merges.txt, pickled weights, a README) is left out.
 */
const CHECKPOINT_FILE =
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|chat_template)\.json$|^chat_template\.jinja$|^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$|^model\.safetensors\.index\.json$/;

export const isCheckpointFile = (name: string): boolean => plainName(name) && CHECKPOINT_FILE.test(name);

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
