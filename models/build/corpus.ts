// The deterministic train / held-out split of the Brown corpus used by the tokenizer, the pretraining shards
// and evaluation; it is recorded in the base model package (config.json tailor.splits). The reader is
// core/node/brown.ts.
import { createHash } from 'node:crypto';
import { type BrownDoc, FICTION_GENRES, isFictionGenre } from '../../core/node/brown.js';

/** Fraction of each genre's files held out (rounded up to whole files). */
export const FICTION_HELDOUT_FRACTION = 0.2;
export const OTHER_HELDOUT_FRACTION = 0.1;

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

export function heldoutCount(genre: string, nFiles: number): number {
  const frac = isFictionGenre(genre) ? FICTION_HELDOUT_FRACTION : OTHER_HELDOUT_FRACTION;
  // Guard against float noise (e.g. 0.1 * 30 = 3.0000000000000004).
  return Math.ceil(Math.round(frac * nFiles * 1e9) / 1e9);
}

/**
 * Deterministic split: within each genre, files sorted by sha256(file name) hex; the first
 * ceil(20%) (fiction genres) or ceil(10%) (others) are held out. Both lists sorted by file name.
 */
export function splitCorpus(docs: Pick<BrownDoc, 'file' | 'genre'>[]): {
  train: string[];
  heldout: string[];
} {
  const byGenre = new Map<string, string[]>();
  for (const d of docs) {
    const list = byGenre.get(d.genre) ?? [];
    list.push(d.file);
    byGenre.set(d.genre, list);
  }
  const train: string[] = [];
  const heldout: string[] = [];
  for (const [genre, files] of byGenre) {
    const ranked = files
      .map((f) => ({ f, h: sha256Hex(f) }))
      .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0))
      .map((x) => x.f);
    const n = heldoutCount(genre, ranked.length);
    heldout.push(...ranked.slice(0, n));
    train.push(...ranked.slice(n));
  }
  train.sort();
  heldout.sort();
  return { train, heldout };
}

export interface SplitManifest {
  corpus: 'brown';
  method: string;
  fiction_genres: string[];
  fiction_heldout_fraction: number;
  other_heldout_fraction: number;
  genres: Record<string, { files: number; heldout: number }>;
  train: string[];
  heldout: string[];
}

/** The split as a JSON-able object (recorded next to the tokenizer and the shards). */
export function splitManifest(docs: Pick<BrownDoc, 'file' | 'genre'>[]): SplitManifest {
  const { train, heldout } = splitCorpus(docs);
  const held = new Set(heldout);
  const genres: Record<string, { files: number; heldout: number }> = {};
  for (const d of docs) {
    const g = genres[d.genre] ?? { files: 0, heldout: 0 };
    g.files++;
    if (held.has(d.file)) g.heldout++;
    genres[d.genre] = g;
  }
  return {
    corpus: 'brown',
    method: 'per genre: files sorted by sha256(file name) hex, first ceil(fraction * n) held out',
    fiction_genres: [...FICTION_GENRES],
    fiction_heldout_fraction: FICTION_HELDOUT_FRACTION,
    other_heldout_fraction: OTHER_HELDOUT_FRACTION,
    genres,
    train,
    heldout,
  };
}
