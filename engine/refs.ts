// A reference to an adapter version is plain data: which base it runs on, which immutable version it is, whose
// it is, and at what weight it applies. It carries no way to fetch the files: the engine's loader (loader.ts)
// owns that, so a reference crosses a thread boundary as it is (as vLLM's LoRARequest does).

/** Whose adapter it is: a user's own, or an app's style. */
export type AdapterKind = 'user' | 'style';

/** One adapter version to apply. */
export interface AdapterRef {
  /** The base model it was trained on and must run on, e.g. `brown-4m`. */
  base: string;
  /** The version's immutable storage prefix, e.g. `adapters/app/u1/v3/`: its identity in every cache. */
  key: string;
  kind: AdapterKind;
  /** Multiplies the adapter's update (0 leaves it out; a prefix applies at 1 or 0 only). */
  weight: number;
}

/**
 * The key of a set of references — the one key both the engine's caches and the pool's choice of thread use:
 * `adapter:<key>` for one version at weight 1 (its parsed entry), else `compose:[[key, weight], …]`; undefined
 * for none (the base model).
 */
export function adapterSetKey(refs: readonly AdapterRef[] | undefined): string | undefined {
  if (!refs || refs.length === 0) return undefined;
  const only = refs[0] as AdapterRef;
  if (refs.length === 1 && only.weight === 1) return `adapter:${only.key}`;
  return `compose:${JSON.stringify(refs.map((r) => [r.key, r.weight]))}`;
}

/** The key of one version alone: the cache entry of its parsed files. */
export const adapterKey = (ref: AdapterRef): string => `adapter:${ref.key}`;

/** Whether a set key (adapterSetKey) names a version whose key starts with `prefix` (an erased owner's). */
export function setKeyMentions(setKey: string, prefix: string): boolean {
  if (setKey.startsWith('adapter:')) return setKey.startsWith(`adapter:${prefix}`);
  if (!setKey.startsWith('compose:')) return false;
  return (JSON.parse(setKey.slice('compose:'.length)) as [string, number][]).some(([key]) =>
    key.startsWith(prefix),
  );
}
