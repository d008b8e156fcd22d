// Log-probabilities of generated tokens, for callers that ask (`logprobs` in GenerateOptions; nothing here runs
// otherwise). A token's log-probability is under the model's own distribution at that step: the log-softmax of
// the raw logits, temperature 1, before top-k and top-p, over the tokens that can be sampled (tokens carrying a
// NUL byte are never sampled: they have no probability and are never listed). Temperature, top-k and top-p
// change which token is drawn, not the numbers reported.

import type { TextTokenizer } from '../core/model/tokenizer.js';

/** The most alternatives a caller may ask for per token. */
export const MAX_TOP_LOGPROBS = 20;

export interface TopLogprob {
  /**
   * The token as text: its bytes decoded as UTF-8, each byte that is not part of a whole character written as
   * `\xHH` (lowercase hex), a special token as its name (`<|endoftext|>`). `bytes` are exact.
   */
  token: string;
  /** The token's UTF-8 bytes (possibly part of a character); null for a special token (no text). */
  bytes: number[] | null;
  /** Natural log of its probability (≤ 0). */
  logprob: number;
}

export interface TokenLogprob extends TopLogprob {
  /** Where the token's first character starts in the generated text, in UTF-16 code units (JS string index). */
  offset: number;
  /** The most likely tokens at this step, most likely first (ties: the lower id first), as many as asked. */
  top: TopLogprob[];
}

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;

/** `bytes` as text: whole UTF-8 characters decoded, any other byte as `\xHH`. */
export function tokenText(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const len =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 1) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += fatal.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // not a whole character (a bad continuation, an overlong form, a surrogate): the lead byte alone
      }
    }
    out += hex(b);
    i++;
  }
  return out;
}

/** Scores one step's logits: the chosen token's log-probability and the top alternatives. */
export class LogprobScorer {
  private readonly ids: Int32Array;
  private readonly vals: Float64Array;
  private readonly names = new Map<number, TopLogprob>();

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly vocabSize: number,
    /** Alternatives per token, 0..MAX_TOP_LOGPROBS. */
    readonly top: number,
  ) {
    if (!Number.isSafeInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS)
      throw new RangeError(`logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}`);
    this.ids = new Int32Array(top);
    this.vals = new Float64Array(top);
  }

  /** `logits`: the row the token was sampled from, unsampleable tokens already at −Infinity. */
  score(logits: Float32Array, chosen: number, offset: number): TokenLogprob {
    const v = this.vocabSize;
    const { ids, vals } = this;
    const n = this.top;
    let count = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < v; i++) {
      const x = logits[i] as number;
      if (!(x > Number.NEGATIVE_INFINITY)) continue; // −Infinity (masked) or NaN
      if (x > max) max = x;
      // Keep the n largest, sorted descending; a tie never displaces an earlier (lower) id.
      if (n === 0 || (count === n && x <= (vals[n - 1] as number))) continue;
      let j = count < n ? count++ : n - 1;
      while (j > 0 && (vals[j - 1] as number) < x) {
        vals[j] = vals[j - 1] as number;
        ids[j] = ids[j - 1] as number;
        j--;
      }
      vals[j] = x;
      ids[j] = i;
    }
    let z = 0;
    for (let i = 0; i < v; i++) {
      const x = logits[i] as number;
      if (x > Number.NEGATIVE_INFINITY) z += Math.exp(x - max);
    }
    const lse = max + Math.log(z);
    const lp = (x: number) => Math.min(0, x - lse);
    const top: TopLogprob[] = [];
    for (let j = 0; j < count; j++)
      top.push({ ...this.name(ids[j] as number), logprob: lp(vals[j] as number) });
    return { ...this.name(chosen), logprob: lp(logits[chosen] as number), offset, top };
  }

  private name(id: number): Omit<TopLogprob, 'logprob'> {
    let t = this.names.get(id);
    if (!t) {
      const special = this.tokenizer.isSpecial(id);
      const bytes = this.tokenizer.tokenBytes(id);
      t = special
        ? { token: this.tokenizer.decode([id]), bytes: null, logprob: 0 }
        : { token: tokenText(bytes), bytes: Array.from(bytes), logprob: 0 };
      this.names.set(id, t);
    }
    return { token: t.token, bytes: t.bytes ? [...t.bytes] : null };
  }
}
