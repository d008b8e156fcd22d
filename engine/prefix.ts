// PEFT prefix tuning: learned keys and values for P virtual tokens in every layer, placed in front of the
// KV cache. The graph does not change: the prefix is fed as the first P past positions, the real tokens take
// positions P, P + 1, … (as Hugging Face + PEFT run it) and the attention mask gains P ones in front. Keys are
// used as stored (the cache holds keys after rotary), so a prefix composes exactly with a LoRA underneath.
//
// The file is PEFT's: `adapter_config.json` with peft_type PREFIX_TUNING, and one tensor `prompt_embeddings`
// [P, L·2·K·D], read as [P, 2L, K, D]: index 2i is layer i's keys, 2i + 1 its values (PEFT's get_prompt).
import * as ort from 'onnxruntime-web';
import type { DecoderShape } from '../core/model/config.js';
import { type AdapterFiles, type AdapterLimits, readAdapterConfig } from './adapter.js';
import type { KVCache } from './decoder.js';
import { AdapterError } from './errors.js';
import { parseSafetensors, SafetensorsError } from './safetensors.js';

export interface PrefixAdapter {
  kind: 'prefix';
  /** Virtual tokens: the positions it takes in the context window. */
  length: number;
  /** Per layer, keys and values [1, K, P, D], ready for the decoder's past inputs. */
  kv: KVCache;
  /** Bytes of tensor data held. */
  bytes: number;
}

/** A prefix takes positions of the window: at most an eighth of it unless the limits say otherwise. */
export function maxPrefixTokens(contextLength: number, limits: Pick<AdapterLimits, 'maxPrefixTokens'>) {
  return limits.maxPrefixTokens ?? Math.floor(contextLength / 8);
}

/** Reads and checks a prefix-tuning adapter against the base model's shape (AdapterError when refused). */
export function parsePrefixAdapter(
  files: AdapterFiles,
  shape: DecoderShape,
  limits: Pick<AdapterLimits, 'maxConfigBytes' | 'maxPrefixTokens'>,
  contextLength: number,
): PrefixAdapter {
  const bad = (msg: string): never => {
    throw new AdapterError(`adapter_config.json: ${msg}`);
  };
  const c = readAdapterConfig(files.config, limits);
  if (c.peft_type !== 'PREFIX_TUNING')
    bad(`peft_type is ${JSON.stringify(c.peft_type)}, not "PREFIX_TUNING"`);
  const { nLayers, nKvHeads, headDim } = shape;
  const p = c.num_virtual_tokens;
  const max = maxPrefixTokens(contextLength, limits);
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1 || p > max)
    bad(`num_virtual_tokens must be an integer from 1 to ${max}, got ${JSON.stringify(p)}`);
  const expect = (key: string, want: number) => {
    if (c[key] !== undefined && c[key] !== null && c[key] !== want)
      bad(`${key} is ${JSON.stringify(c[key])}; this base model needs ${want}`);
  };
  expect('num_layers', nLayers);
  expect('token_dim', nKvHeads * headDim);
  expect('num_attention_heads', nKvHeads);
  expect('num_transformer_submodules', 1);
  if (c.prefix_projection !== undefined && c.prefix_projection !== null && c.prefix_projection !== false)
    bad('prefix_projection must be false (the projection is a training-time reparametrisation)');
  if (c.task_type !== undefined && c.task_type !== null && c.task_type !== 'CAUSAL_LM')
    bad(`task_type is ${JSON.stringify(c.task_type)}, expected "CAUSAL_LM"`);

  const length = p as number;
  const width = nLayers * 2 * nKvHeads * headDim;
  const fail = (msg: string): never => {
    throw new AdapterError(`adapter_model.safetensors: ${msg}`);
  };
  let tensors: ReturnType<typeof parseSafetensors>['tensors'];
  try {
    tensors = parseSafetensors(files.weights, { maxBytes: length * width * 4 + (1 << 16) }).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new AdapterError(`adapter_model.safetensors: ${e.message}`);
    throw e;
  }
  for (const key of tensors.keys()) {
    if (key !== 'prompt_embeddings')
      fail(`unexpected tensor ${key} (a prefix adapter holds prompt_embeddings)`);
  }
  const t = tensors.get('prompt_embeddings');
  if (!t) return fail('missing prompt_embeddings');
  if (t.dtype !== 'F32' && t.dtype !== 'F16')
    fail(`prompt_embeddings: dtype ${t.dtype}, expected F32 or F16`);
  if (t.shape.length !== 2 || t.shape[0] !== length || t.shape[1] !== width)
    fail(`prompt_embeddings: shape [${t.shape}], expected [${length},${width}]`);
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail(`prompt_embeddings: value ${data[i]} at index ${i} is not finite`);
  }
  // [P, 2L, K, D] → per layer and half, [K, P, D].
  const kd = nKvHeads * headDim;
  const half = (j: number): ort.Tensor => {
    const out = new Float32Array(nKvHeads * length * headDim);
    for (let v = 0; v < length; v++) {
      const row = v * width + j * kd;
      for (let k = 0; k < nKvHeads; k++) {
        out.set(data.subarray(row + k * headDim, row + (k + 1) * headDim), (k * length + v) * headDim);
      }
    }
    return new ort.Tensor('float32', out, [1, nKvHeads, length, headDim]);
  };
  const kv: KVCache = Array.from({ length: nLayers }, (_, i) => ({
    key: half(2 * i),
    value: half(2 * i + 1),
  }));
  return { kind: 'prefix', length, kv, bytes: length * width * 4 };
}

/** Several prefixes one after another (in the order given): the virtual tokens of each, concatenated. */
export function concatPrefixes(shape: DecoderShape, parts: readonly PrefixAdapter[]): PrefixAdapter {
  if (parts.length === 1) return parts[0] as PrefixAdapter;
  const { nKvHeads, headDim } = shape;
  const length = parts.reduce((s, p) => s + p.length, 0);
  const join = (pick: (p: PrefixAdapter) => ort.Tensor): ort.Tensor => {
    const out = new Float32Array(nKvHeads * length * headDim);
    for (let k = 0; k < nKvHeads; k++) {
      let at = 0;
      for (const p of parts) {
        const src = pick(p).data as Float32Array;
        const n = p.length * headDim;
        out.set(src.subarray(k * n, (k + 1) * n), (k * length + at) * headDim);
        at += p.length;
      }
    }
    return new ort.Tensor('float32', out, [1, nKvHeads, length, headDim]);
  };
  const kv: KVCache = Array.from({ length: shape.nLayers }, (_, i) => ({
    key: join((p) => (p.kv[i] as KVCache[number]).key),
    value: join((p) => (p.kv[i] as KVCache[number]).value),
  }));
  return { kind: 'prefix', length, kv, bytes: parts.reduce((s, p) => s + p.bytes, 0) };
}

/** The prefix repeated for a batch of `b` rows: past inputs [b, K, P, D]. */
export function tilePrefix(prefix: PrefixAdapter, b: number): KVCache {
  if (b === 1) return prefix.kv;
  const tile = (t: ort.Tensor): ort.Tensor => {
    const src = t.data as Float32Array;
    const out = new Float32Array(src.length * b);
    for (let r = 0; r < b; r++) out.set(src, r * src.length);
    return new ort.Tensor('float32', out, [b, ...t.dims.slice(1)]);
  };
  return prefix.kv.map(({ key, value }) => ({ key: tile(key), value: tile(value) }));
}
