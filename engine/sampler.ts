// Next-token choice from one row of logits: greedy, or temperature → top-k → top-p (the Hugging Face order;
// top-p works on the distribution renormalised over the top k). Built for the decode loop: no sort of the
// whole vocabulary (a size-k min-heap selects the candidates), and every buffer is allocated once.

export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens; 0 (or ≥ vocab) = no limit. */
  topK: number;
  /** Keep the smallest set whose probability reaches p; 1 = no limit. */
  topP: number;
}

/** Candidate-set sizes tried in turn when top-p runs without top-k; the whole vocabulary is the last resort. */
const NUCLEUS_STEPS = [64, 512];

export class Sampler {
  private readonly heap: Int32Array;
  private readonly probs: Float64Array;

  constructor(readonly vocabSize: number) {
    this.heap = new Int32Array(vocabSize);
    this.probs = new Float64Array(vocabSize);
  }

  /**
   * The next token from `logits` (a row of `vocabSize` values). `rng` gives uniform [0, 1) draws; unused
   * when greedy.
   */
  sample(logits: Float32Array, p: SamplingParams, rng: () => number): number {
    const v = this.vocabSize;
    if (logits.length < v) throw new RangeError(`logits row has ${logits.length} values, expected ${v}`);
    if (!(p.temperature > 0)) return argmax(logits, v);
    const invT = 1 / p.temperature;
    const k = p.topK > 0 && p.topK < v ? p.topK : v;
    if (k < v) {
      const n = this.selectTop(logits, k);
      return this.draw(logits, n, invT, p.topP, 0, rng);
    }
    // No top-k: the normaliser is over the whole vocabulary; find the nucleus among growing top sets.
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < v; i++) if ((logits[i] as number) > max) max = logits[i] as number;
    let z = 0;
    for (let i = 0; i < v; i++) z += Math.exp(((logits[i] as number) - max) * invT);
    if (p.topP < 1) {
      for (const m of NUCLEUS_STEPS) {
        if (m >= v) break;
        const n = this.selectTop(logits, m);
        let mass = 0;
        for (let j = 0; j < n; j++)
          mass += Math.exp(((logits[this.heap[j] as number] as number) - max) * invT) / z;
        if (mass >= p.topP) return this.draw(logits, n, invT, p.topP, z, rng, max);
      }
    }
    if (p.topP < 1) return this.draw(logits, this.selectTop(logits, v), invT, p.topP, z, rng, max);
    // Plain temperature sampling: one pass over the vocabulary in id order, nothing to select.
    let u = rng() * z;
    for (let i = 0; i < v; i++) {
      u -= Math.exp(((logits[i] as number) - max) * invT);
      if (u < 0) return i;
    }
    return argmax(logits, v);
  }

  /**
   * Samples among heap[0..n) (sorted, most likely first), cut to the top-p nucleus. `z` is the softmax
   * normaliser relative to `max`, or 0 to normalise over the n candidates themselves.
   */
  private draw(
    logits: Float32Array,
    n: number,
    invT: number,
    topP: number,
    z: number,
    rng: () => number,
    max = logits[this.heap[0] as number] as number,
  ): number {
    const { heap, probs } = this;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(((logits[heap[j] as number] as number) - max) * invT);
      probs[j] = e;
      sum += e;
    }
    const norm = z > 0 ? z : sum;
    let cut = n;
    if (topP < 1) {
      let c = 0;
      for (let j = 0; j < n; j++) {
        c += (probs[j] as number) / norm;
        if (c >= topP) {
          cut = j + 1;
          break;
        }
      }
    }
    let total = 0;
    for (let j = 0; j < cut; j++) total += probs[j] as number;
    let u = rng() * total;
    for (let j = 0; j < cut; j++) {
      u -= probs[j] as number;
      if (u < 0) return heap[j] as number;
    }
    return heap[cut - 1] as number;
  }

  /** Puts the indices of the m largest logits into heap[0..m), sorted descending; returns m. */
  private selectTop(logits: Float32Array, m: number): number {
    const h = this.heap;
    const v = this.vocabSize;
    const less = (a: number, b: number) => {
      const la = logits[a] as number;
      const lb = logits[b] as number;
      return la < lb || (la === lb && a > b); // ties: the lower id ranks higher, for determinism
    };
    const siftDown = (i: number, size: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) return;
        const r = l + 1;
        const c = r < size && less(h[r] as number, h[l] as number) ? r : l;
        if (!less(h[c] as number, h[i] as number)) return;
        const t = h[i] as number;
        h[i] = h[c] as number;
        h[c] = t;
        i = c;
      }
    };
    // Min-heap of the best m seen so far: most logits lose to its root at a single comparison.
    for (let i = 0; i < m; i++) h[i] = i;
    for (let i = (m >> 1) - 1; i >= 0; i--) siftDown(i, m);
    for (let i = m; i < v; i++) {
      if (less(h[0] as number, i)) {
        h[0] = i;
        siftDown(0, m);
      }
    }
    // Heap-sort in place: repeatedly move the minimum to the end → descending order.
    for (let end = m - 1; end > 0; end--) {
      const t = h[0] as number;
      h[0] = h[end] as number;
      h[end] = t;
      siftDown(0, end);
    }
    return m;
  }
}

export function argmax(logits: Float32Array, n = logits.length): number {
  let best = 0;
  let bv = logits[0] as number;
  for (let i = 1; i < n; i++) {
    const x = logits[i] as number;
    if (x > bv) {
      bv = x;
      best = i;
    }
  }
  return best;
}
