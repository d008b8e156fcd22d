// replay.bin: windows of Brown training text (never a held-out file) as a base's own token ids, which the worker
// mixes into every user's adapter training (and guards it with) so a personal adapter learns the reader's story
// without forgetting general English. The shipped base's (models/build/make-replay.ts) and every imported
// base's (the import job) are made here, the same way. uint16 little-endian ids when the vocabulary fits, else
// uint32; `windows × length`, described by config.json → tailor.replay.
import type { TextTokenizer } from '../model/tokenizer.js';
import { type BrownDoc, readBrown } from './brown.js';

export interface ReplayMeta {
  file: string;
  windows: number;
  length: number;
  dtype: 'uint16' | 'uint32';
  split: 'train';
}

/**
 * Evenly spread over the training files: one window from each in turn at a position stepping through it.
 * `train`: the Brown files the shipped base trained on (its recorded split).
 */
export function buildReplay(
  tokenizer: TextTokenizer,
  train: ReadonlySet<string>,
  opts: { windows?: number; length?: number; docs?: BrownDoc[] } = {},
): { bytes: Uint8Array; meta: ReplayMeta } {
  const windows = opts.windows ?? 512;
  const length = opts.length ?? 96;
  const texts = (opts.docs ?? readBrown()).filter((d) => train.has(d.file));
  if (texts.length === 0) throw new Error('replay: no training files');
  const ids = texts.map((d) => tokenizer.encode(d.text));
  const dtype = tokenizer.vocabSize <= 65_536 ? 'uint16' : 'uint32';
  const out = dtype === 'uint16' ? new Uint16Array(windows * length) : new Uint32Array(windows * length);
  for (let w = 0; w < windows; w++) {
    const doc = ids[(w * 7919) % ids.length] as number[];
    const room = doc.length - length;
    const at = room > 0 ? Math.floor(((w * 0.6180339887) % 1) * room) : 0;
    out.set(doc.slice(at, at + length), w * length);
  }
  return {
    bytes: new Uint8Array(out.buffer),
    meta: { file: 'replay.bin', windows, length, dtype, split: 'train' },
  };
}

/** The windows of a replay.bin as token ids. */
export function readReplayBytes(
  bytes: Uint8Array,
  meta: Omit<ReplayMeta, 'split' | 'dtype'> & { dtype?: string },
) {
  const wide = meta.dtype === 'uint32';
  const copy = bytes.slice().buffer;
  const ids = wide ? new Uint32Array(copy) : new Uint16Array(copy);
  if (ids.length !== meta.windows * meta.length)
    throw new Error(`${meta.file}: ${ids.length} ids, expected ${meta.windows} × ${meta.length}`);
  return Array.from({ length: meta.windows }, (_, w) =>
    Array.from(ids.subarray(w * meta.length, (w + 1) * meta.length)),
  );
}
