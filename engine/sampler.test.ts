import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../core/util/rng.js';
import { argmax, Sampler } from './sampler.js';

const V = 4096;
function logitsRow(seed: number): Float32Array {
  const r = mulberry32(seed);
  // Peaked like a language model: a few strong tokens over a long flat tail.
  return Float32Array.from({ length: V }, (_, i) => (i % 97 === 3 ? 6 + r() * 4 : r() * 3));
}

/** The textbook algorithm: full softmax, full sort, top-k then top-p, one uniform draw. */
function reference(logits: Float32Array, t: number, k: number, p: number, u: number): number {
  const order = Array.from(logits.keys()).sort(
    (a, b) => (logits[b] as number) - (logits[a] as number) || a - b,
  );
  const kept = k > 0 ? order.slice(0, k) : order;
  const max = logits[kept[0] as number] as number;
  const w = kept.map((i) => Math.exp(((logits[i] as number) - max) / t));
  const z = w.reduce((s, x) => s + x, 0);
  let c = 0;
  let cut = kept.length;
  for (let j = 0; j < kept.length; j++) {
    c += (w[j] as number) / z;
    if (c >= p) {
      cut = j + 1;
      break;
    }
  }
  const total = w.slice(0, cut).reduce((s, x) => s + x, 0);
  let x = u * total;
  for (let j = 0; j < cut; j++) {
    x -= w[j] as number;
    if (x < 0) return kept[j] as number;
  }
  return kept[cut - 1] as number;
}

describe('Sampler', () => {
  const s = new Sampler(V);

  it('greedy is argmax, and so is top-k 1', () => {
    const l = logitsRow(1);
    const best = argmax(l);
    expect(s.sample(l, { temperature: 0, topK: 50, topP: 0.9 }, () => 0.5)).toBe(best);
    expect(s.sample(l, { temperature: 1.3, topK: 1, topP: 1 }, Math.random)).toBe(best);
  });

  it('matches the full-sort reference for top-k, top-p and both', () => {
    const cases = [
      { temperature: 0.8, topK: 50, topP: 0.95 },
      { temperature: 1, topK: 0, topP: 0.9 },
      { temperature: 0.5, topK: 10, topP: 1 },
      { temperature: 1.2, topK: 0, topP: 0.5 },
    ];
    for (const c of cases) {
      for (let seed = 0; seed < 6; seed++) {
        const l = logitsRow(100 + seed);
        const u = mulberry32(seed)();
        expect(s.sample(l, c, () => u)).toBe(reference(l, c.temperature, c.topK, c.topP, u));
      }
    }
  });

  it('plain temperature sampling follows the softmax (a three-token check)', () => {
    const small = new Sampler(3);
    const l = new Float32Array([0, Math.log(3), 0]); // probabilities 0.2, 0.6, 0.2
    expect(small.sample(l, { temperature: 1, topK: 0, topP: 1 }, () => 0.1)).toBe(0);
    expect(small.sample(l, { temperature: 1, topK: 0, topP: 1 }, () => 0.5)).toBe(1);
    expect(small.sample(l, { temperature: 1, topK: 0, topP: 1 }, () => 0.9)).toBe(2);
  });

  it('only ever draws from the top k', () => {
    const l = logitsRow(7);
    const top = Array.from(l.keys())
      .sort((a, b) => (l[b] as number) - (l[a] as number))
      .slice(0, 5);
    const rng = mulberry32(3);
    for (let i = 0; i < 200; i++)
      expect(top).toContain(s.sample(l, { temperature: 2, topK: 5, topP: 1 }, rng));
  });
});
