// Byte-level BPE trainer (GPT-2 style), pure TypeScript.
//
// Pre-tokenization is exactly Hugging Face's ByteLevel pre-tokenizer with use_regex=true and
// add_prefix_space=false: the GPT-2 regex, then every UTF-8 byte mapped through GPT-2's
// bytes_to_unicode table. Training works on the unique pre-tokenized words with their counts and
// keeps pair counts up to date incrementally (only words that contain the merged pair are touched).

import { bytesToUnicode } from '../../core/model/tokenizer.js';

export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const END_OF_TEXT = '<|endoftext|>';

/** Splits text into GPT-2 pre-tokens (raw strings, before the byte mapping). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}

/** Counts pre-tokens over many texts. */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const w of preTokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

export interface BpeModel {
  /** Token strings (byte-level alphabet) by id. id 0 is the special token. */
  vocab: string[];
  /** Merges in rank order, as "left right" strings (HF tokenizers legacy format). */
  merges: string[];
}

export interface TrainOptions {
  vocabSize: number;
  /** Called every `progressEvery` merges. */
  onProgress?: (merges: number, vocab: number, pairCount: number) => void;
  progressEvery?: number;
}

// Max-heap of pairs keyed by (count desc, left id asc, right id asc). Entries are lazy:
// a popped entry whose count no longer matches the live count is re-queued or dropped.
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i] as number;
    const cj = this.counts[j] as number;
    if (ci !== cj) return ci > cj;
    return (this.keys[i] as number) < (this.keys[j] as number);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] as number;
    this.counts[i] = this.counts[j] as number;
    this.counts[j] = c;
    const k = this.keys[i] as number;
    this.keys[i] = this.keys[j] as number;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } | undefined {
    const n = this.counts.length;
    if (n === 0) return undefined;
    const top = { count: this.counts[0] as number, key: this.keys[0] as number };
    const lastC = this.counts.pop() as number;
    const lastK = this.keys.pop() as number;
    if (n > 1) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      const m = n - 1;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < m && this.before(l, best)) best = l;
        if (r < m && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/**
 * Trains a byte-level BPE on word counts. Vocabulary layout: id 0 = `<|endoftext|>`,
 * ids 1..256 = the 256 byte symbols in byte order (all of them, seen or not), then merges
 * until the vocabulary holds `vocabSize` entries. Ties are broken by the smaller (left, right)
 * id pair, so the result is a pure function of the word counts.
 */
export function trainBpe(wordCounts: Map<string, number>, opts: TrainOptions): BpeModel {
  const { vocabSize } = opts;
  const B = 8192; // key = left * B + right; ids stay below B
  if (vocabSize > B) throw new Error(`vocabSize ${vocabSize} > ${B}`);
  const byteChars = bytesToUnicode();
  const vocab: string[] = [END_OF_TEXT, ...byteChars];
  const idOf = new Map<string, number>();
  // The special token is not a merge target (it is matched as an added token, never built from bytes).
  vocab.forEach((t, i) => {
    if (i > 0) idOf.set(t, i);
  });
  const merges: string[] = [];

  // Unique words as symbol-id arrays. Sort the raw words so the input order never matters.
  const enc = new TextEncoder();
  const rawWords = [...wordCounts.keys()].sort();
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const w of rawWords) {
    const bytes = enc.encode(w);
    words.push(Array.from(bytes, (b) => b + 1));
    freqs.push(wordCounts.get(w) as number);
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi] as number[];
    const f = freqs[wi] as number;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = (w[i] as number) * B + (w[i + 1] as number);
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      let s = where.get(key);
      if (!s) {
        s = new Set();
        where.set(key, s);
      }
      s.add(wi);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const every = opts.progressEvery ?? 256;
  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) throw new Error(`ran out of pairs at vocab size ${vocab.length}`);
    const live = pairCount.get(top.key) ?? 0;
    if (live !== top.count) {
      if (live > 0 && live < top.count) heap.push(live, top.key);
      continue;
    }
    if (live <= 0) continue;
    const a = Math.floor(top.key / B);
    const b = top.key % B;
    const merged = (vocab[a] as string) + (vocab[b] as string);
    // Like HF's trainer: a merge whose result already exists reuses that id.
    let newId = idOf.get(merged);
    if (newId === undefined) {
      newId = vocab.length;
      vocab.push(merged);
      idOf.set(merged, newId);
    }
    merges.push(`${vocab[a]} ${vocab[b]}`);

    const affected = where.get(top.key);
    where.delete(top.key);
    const delta = new Map<number, number>();
    if (affected) {
      for (const wi of affected) {
        const w = words[wi] as number[];
        const f = freqs[wi] as number;
        let has = false;
        for (let i = 0; i + 1 < w.length; i++) {
          if (w[i] === a && w[i + 1] === b) {
            has = true;
            break;
          }
        }
        if (!has) continue;
        for (let i = 0; i + 1 < w.length; i++) {
          const key = (w[i] as number) * B + (w[i + 1] as number);
          delta.set(key, (delta.get(key) ?? 0) - f);
        }
        const out: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            out.push(newId);
            i++;
          } else {
            out.push(w[i] as number);
          }
        }
        words[wi] = out;
        for (let i = 0; i + 1 < out.length; i++) {
          const key = (out[i] as number) * B + (out[i + 1] as number);
          delta.set(key, (delta.get(key) ?? 0) + f);
          if (key !== top.key) {
            let s = where.get(key);
            if (!s) {
              s = new Set();
              where.set(key, s);
            }
            s.add(wi);
          }
        }
      }
    }
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const c = (pairCount.get(key) ?? 0) + d;
      if (c > 0) pairCount.set(key, c);
      else pairCount.delete(key);
      if (d > 0) heap.push(c, key);
    }
    if (opts.onProgress && merges.length % every === 0)
      opts.onProgress(merges.length, vocab.length, pairCount.size);
  }
  return { vocab, merges };
}

/** Pre-tokenizes and byte-maps one string the way the runtime ByteLevel pre-tokenizer does. */
export function byteLevelPieces(text: string): string[] {
  const table = bytesToUnicode();
  const enc = new TextEncoder();
  return preTokenize(text).map((w) => Array.from(enc.encode(w), (b) => table[b] as string).join(''));
}
