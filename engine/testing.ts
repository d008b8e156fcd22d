// Test helpers (Web APIs only): a safetensors writer, random PEFT adapters (LoRA, prefix) for a base model's
// shape, a scripted decoder, and an adapter loader over files made in the test.

import type { DecoderShape } from '../core/model/config.js';
import { mulberry32 } from '../core/util/rng.js';
import type { AdapterFiles } from './adapter.js';
import type { DecoderLike, DecoderOutput, DecoderStep } from './decoder.js';
import { EngineError } from './errors.js';
import type { AdapterLoader } from './loader.js';
import type { AdapterKind, AdapterRef } from './refs.js';

// Protobuf writing, for tests and benchmarks that build ONNX graphs of their own.
export { concat, varint } from './onnx-graph.js';

export interface RawTensor {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export function writeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** LoRA pairs by module path (B unscaled, as PEFT stores it). */
export type LoraTensors = Map<string, { a: Float32Array; b: Float32Array; r: number }>;

export interface AdapterSpec {
  r: number;
  alpha: number;
  targets: string[];
  seed?: number;
  /** Standard deviation-ish of the random values. Default 0.05. */
  scale?: number;
}

export function randomLoraTensors(shape: DecoderShape, spec: AdapterSpec): LoraTensors {
  const rng = mulberry32(spec.seed ?? 1);
  const scale = spec.scale ?? 0.05;
  const rand = (n: number) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale * 1.7);
  const out: LoraTensors = new Map();
  shape.loraModules.forEach((m, j) => {
    if (!spec.targets.includes(m.split('.')[4] as string)) return;
    const [fin, fout] = shape.loraShapes[j] as [number, number];
    out.set(m, { a: rand(spec.r * fin), b: rand(fout * spec.r), r: spec.r });
  });
  return out;
}

export function peftConfig(
  spec: Omit<AdapterSpec, 'seed' | 'scale'>,
  extra: Record<string, unknown> = {},
): object {
  return {
    alpha_pattern: {},
    base_model_name_or_path: 'models/brown-4m',
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    lora_alpha: spec.alpha,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: 'LORA',
    r: spec.r,
    rank_pattern: {},
    target_modules: [...spec.targets].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
    ...extra,
  };
}

export function adapterFiles(
  tensors: LoraTensors,
  spec: Omit<AdapterSpec, 'seed' | 'scale'>,
  configExtra: Record<string, unknown> = {},
): AdapterFiles {
  const raw: Record<string, RawTensor> = {};
  for (const [m, { a, b, r }] of tensors) {
    // Shapes come from the arrays: A [r, in], B [out, r].
    raw[`base_model.model.${m}.lora_A.weight`] = { dtype: 'F32', shape: [r, a.length / r], data: a };
    raw[`base_model.model.${m}.lora_B.weight`] = { dtype: 'F32', shape: [b.length / r, r], data: b };
  }
  return {
    config: new TextEncoder().encode(JSON.stringify(peftConfig(spec, configExtra))),
    weights: writeSafetensors(raw, { format: 'pt' }),
  };
}

export function randomAdapter(shape: DecoderShape, spec: AdapterSpec): AdapterFiles {
  return adapterFiles(randomLoraTensors(shape, spec), spec);
}

/**
 * A stand-in decoder that "predicts" a fixed token script, one token per run, whatever it is fed: lets
 * tests drive the generation loop through exact token sequences (byte tokens, EOS, long outputs).
 */
export class ScriptedDecoder implements DecoderLike {
  readonly fed: number[][] = [];
  /** The script counts one token per run: a prefill, however long, is one run. */
  readonly prefillChunk = Number.MAX_SAFE_INTEGER;
  private next = 0;

  constructor(
    readonly shape: DecoderShape,
    private readonly script: readonly number[],
  ) {}

  async run(step: DecoderStep): Promise<DecoderOutput> {
    const t = step.ids[0]?.length ?? 0;
    this.fed.push([...(step.ids[0] ?? [])]);
    const v = this.shape.vocabSize;
    const logits = new Float32Array(step.ids.length * t * v);
    const tok = this.script[this.next++] ?? 0;
    for (let b = 0; b < step.ids.length; b++) logits[(b * t + t - 1) * v + tok] = 10;
    return { logits, present: [] };
  }
}

/** PEFT's adapter_config.json for a prefix of `tokens` virtual tokens on this base model. */
export function prefixConfig(
  shape: DecoderShape,
  tokens: number,
  extra: Record<string, unknown> = {},
): object {
  const kd = shape.nKvHeads * shape.headDim;
  return {
    auto_mapping: null,
    base_model_name_or_path: 'models/brown-4m',
    encoder_hidden_size: kd,
    inference_mode: true,
    num_attention_heads: shape.nKvHeads,
    num_layers: shape.nLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: tokens,
    peft_type: 'PREFIX_TUNING',
    prefix_projection: false,
    revision: null,
    task_type: 'CAUSAL_LM',
    token_dim: kd,
    ...extra,
  };
}

/** `prompt_embeddings` [P, L·2·K·D] with random values, and the files of a prefix adapter holding it. */
export function randomPrefix(
  shape: DecoderShape,
  spec: { tokens: number; seed?: number; scale?: number },
): { embeddings: Float32Array; files: AdapterFiles } {
  const rng = mulberry32(spec.seed ?? 1);
  const scale = spec.scale ?? 0.5;
  const width = shape.nLayers * 2 * shape.nKvHeads * shape.headDim;
  const embeddings = Float32Array.from({ length: spec.tokens * width }, () => (rng() * 2 - 1) * scale * 1.7);
  return { embeddings, files: prefixFiles(shape, embeddings) };
}

export function prefixFiles(
  shape: DecoderShape,
  embeddings: Float32Array,
  configExtra: Record<string, unknown> = {},
): AdapterFiles {
  const width = shape.nLayers * 2 * shape.nKvHeads * shape.headDim;
  const tokens = embeddings.length / width;
  return {
    config: new TextEncoder().encode(JSON.stringify(prefixConfig(shape, tokens, configExtra))),
    weights: writeSafetensors(
      { prompt_embeddings: { dtype: 'F32', shape: [tokens, width], data: embeddings } },
      { format: 'pt' },
    ),
  };
}

/**
 * Adapters made in a test, by key: `ref` registers a version's files (or a function that makes them, called on
 * each load) and gives the plain reference an engine is asked with; the engine loads them through this loader.
 */
export class TestAdapters implements AdapterLoader {
  private readonly sources = new Map<string, () => Promise<AdapterFiles>>();
  /** Loads asked of this loader (cache misses of the engines that use it). */
  loads = 0;

  constructor(readonly base: string) {}

  ref(
    key: string,
    files: AdapterFiles | (() => Promise<AdapterFiles>),
    weight = 1,
    kind: AdapterKind = 'user',
  ): AdapterRef {
    this.sources.set(key, typeof files === 'function' ? files : async () => files);
    return { base: this.base, key, kind, weight };
  }

  /** The files of a registered version, as a load gives them. */
  async files(ref: AdapterRef): Promise<AdapterFiles> {
    const source = this.sources.get(ref.key);
    if (!source) throw new EngineError('adapter_missing', `adapter files missing under ${ref.key}`);
    return source();
  }

  async load(ref: AdapterRef): Promise<AdapterFiles> {
    this.loads++;
    return this.files(ref);
  }
}
