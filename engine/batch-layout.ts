// How a batch is laid out for one decoder run (batch.ts decides who is in it): each row's KV cache right-aligned
// in one [B, K, S, D] tensor per layer, each row's LoRA pairs zero-padded into [B, R, in] / [B, out, R], and rows
// cut into groups by rank. Pure functions over tensors.
import * as ort from 'onnxruntime-web';
import type { KVCache, LoraInputs } from './decoder.js';

/**
 * Relative cost of a row's rank against a run's fixed cost: a run costs about 1 + rows × rank / 36 (measured
 * on the shipped model: a run's fixed part ≈ 1 ms, a row-rank ≈ 0.028 ms). Two groups are worth it when
 * splitting saves more than 36 row-ranks of padding.
 */
const RANK_PER_RUN = 36;

/** Row `b`'s last `len` columns of a [B, K, S, D] tensor, as [1, K, len, D]. */
export function sliceRow(t: ort.Tensor, b: number, width: number, len: number): ort.Tensor {
  const [, k = 0, , d = 0] = t.dims;
  const src = t.data as Float32Array;
  const out = new Float32Array(k * len * d);
  for (let h = 0; h < k; h++) {
    const from = ((b * k + h) * width + width - len) * d;
    out.set(src.subarray(from, from + len * d), h * len * d);
  }
  return new ort.Tensor('float32', out, [1, k, len, d]);
}

/** [1, K, len_b, D] caches → [B, K, width, D], each row right-aligned (left padding of zeros). */
export function mergeCaches(caches: KVCache[], lens: number[], width: number): KVCache {
  const layers = caches[0]?.length ?? 0;
  const out: KVCache = [];
  for (let l = 0; l < layers; l++) {
    const one = (pick: (c: KVCache) => ort.Tensor): ort.Tensor => {
      const [, k = 0, , d = 0] = pick(caches[0] as KVCache).dims;
      const data = new Float32Array(caches.length * k * width * d);
      caches.forEach((c, b) => {
        const src = pick(c).data as Float32Array;
        const len = lens[b] as number;
        for (let h = 0; h < k; h++)
          data.set(src.subarray(h * len * d, (h + 1) * len * d), ((b * k + h) * width + width - len) * d);
      });
      return new ort.Tensor('float32', data, [caches.length, k, width, d]);
    };
    out.push({
      key: one((c) => (c[l] as KVCache[number]).key),
      value: one((c) => (c[l] as KVCache[number]).value),
    });
  }
  return out;
}

/**
 * The group's LoRA inputs: one pair for every row when they share it (or none), else per module a pair per
 * row ([B, R, in], [B, out, R]) with each row's rank zero-padded to the largest, R.
 */
export function batchLora(rows: readonly { lora: LoraInputs | undefined }[]): LoraInputs | undefined {
  const first = rows[0]?.lora;
  if (rows.every((r) => r.lora === first)) return first;
  const names = new Set(rows.flatMap((r) => Object.keys(r.lora ?? {})));
  const out: LoraInputs = {};
  const n = rows.length;
  for (const name of names) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const bName = `${name.slice(0, -'.lora_A.weight'.length)}.lora_B.weight`;
    const as = rows.map((r) => r.lora?.[name]);
    const bs = rows.map((r) => r.lora?.[bName]);
    const rank = Math.max(...as.map((a) => a?.dims[1] ?? 0));
    const given = as.find((a) => a) as ort.Tensor;
    const fin = given.dims[2] as number;
    const fout = (bs.find((x) => x) as ort.Tensor).dims[1] as number;
    const a = new Float32Array(n * rank * fin);
    const b = new Float32Array(n * fout * rank);
    for (let i = 0; i < n; i++) {
      const ai = as[i];
      const bi = bs[i];
      if (!ai || !bi) continue;
      const r = ai.dims[1] as number;
      a.set(ai.data as Float32Array, i * rank * fin); // rows r..R of A stay zero
      const src = bi.data as Float32Array;
      for (let o = 0; o < fout; o++) b.set(src.subarray(o * r, (o + 1) * r), (i * fout + o) * rank); // columns r..R of B stay zero
    }
    out[name] = new ort.Tensor('float32', a, [n, rank, fin]);
    out[bName] = new ort.Tensor('float32', b, [n, fout, rank]);
  }
  return out;
}

/**
 * Rows into groups of at most `maxBatch`, sorted by rank, cut where padding would cost more than another run
 * (cost of a group: 1 + rows × its largest rank / RANK_PER_RUN; the split is optimal, by dynamic programming).
 */
export function partition<R extends { rank: number; id: number }>(
  rows: readonly R[],
  maxBatch: number,
): R[][] {
  const sorted = [...rows].sort((x, y) => x.rank - y.rank || x.id - y.id);
  const n = sorted.length;
  const best = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY);
  const cut = new Array<number>(n + 1).fill(0);
  best[0] = 0;
  for (let i = 1; i <= n; i++) {
    const rank = (sorted[i - 1] as R).rank;
    for (let j = Math.max(0, i - maxBatch); j < i; j++) {
      const cost = (best[j] as number) + 1 + ((i - j) * rank) / RANK_PER_RUN;
      if (cost < (best[i] as number)) {
        best[i] = cost;
        cut[i] = j;
      }
    }
  }
  const parts: R[][] = [];
  for (let i = n; i > 0; i = cut[i] as number) parts.unshift(sorted.slice(cut[i], i));
  return parts;
}
