// PEFT LoRA adapters: a strict reader of `adapter_config.json` + `adapter_model.safetensors` (anything
// malformed or not made for this base model is refused with an AdapterError naming the problem), and the
// composition of several adapters with weights into the LoRA inputs the decoder graph takes.
//
// Per target module the graph computes y += B·(A·x); the PEFT scaling lora_alpha / r is baked into B here.
// Composition is exact by rank concatenation: A = [A1; A2], B = [w1·B1, w2·B2] (B·A = w1·B1·A1 + w2·B2·A2).
import * as ort from 'onnxruntime-web';
import type { DecoderShape } from '../core/model/config.js';
import type { LoraInputs } from './decoder.js';
import { AdapterError } from './errors.js';
import { parseSafetensors, SafetensorsError } from './safetensors.js';

/** The two files of an adapter version, as stored. */
export interface AdapterFiles {
  config: Uint8Array;
  weights: Uint8Array;
}

export interface LoraModuleWeights {
  r: number;
  /** [r, in] row-major. */
  a: Float32Array;
  /** [out, r] row-major, scaling (lora_alpha / r) included. */
  b: Float32Array;
}

export interface LoraAdapter {
  kind: 'lora';
  rank: number;
  alpha: number;
  /** By module path, e.g. `model.layers.0.self_attn.q_proj`. */
  modules: Map<string, LoraModuleWeights>;
  /** The adapter alone at weight 1, ready for the decoder. */
  inputs: LoraInputs;
  /** Bytes of tensor data held. */
  bytes: number;
}

export interface AdapterLimits {
  /** config.tailor.max_lora_rank */
  maxRank: number;
  /** config.tailor.lora_targets, e.g. `q_proj` */
  targets: readonly string[];
  /** Default: what a rank-maxRank F32 adapter on every target needs, plus 1 MiB. */
  maxWeightsBytes?: number;
  /** Default 64 KiB. */
  maxConfigBytes?: number;
  /** Virtual tokens a prefix adapter (or a composition of them) may take. Default: an eighth of the context. */
  maxPrefixTokens?: number;
}

const PEFT_PREFIX = 'base_model.model.';

/** Reads and checks an adapter against the base model's shape; throws AdapterError when it is refused. */
export function parseAdapter(files: AdapterFiles, shape: DecoderShape, limits: AdapterLimits): LoraAdapter {
  const cfg = parseAdapterConfig(files.config, shape, limits);
  const maxBytes =
    limits.maxWeightsBytes ??
    limits.maxRank * shape.loraShapes.reduce((s, [i, o]) => s + (i + o) * 4, 0) + (1 << 20);
  let tensors: ReturnType<typeof parseSafetensors>['tensors'];
  try {
    tensors = parseSafetensors(files.weights, { maxBytes }).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new AdapterError(`adapter_model.safetensors: ${e.message}`);
    throw e;
  }
  const fail = (msg: string): never => {
    throw new AdapterError(`adapter_model.safetensors: ${msg}`);
  };
  const scaling = cfg.alpha / cfg.r;
  const index = new Map(shape.loraModules.map((m, j) => [m, j]));
  const expected = new Set(cfg.modules);
  const seen = new Set<string>();
  const modules = new Map<string, LoraModuleWeights>();
  for (const key of tensors.keys()) {
    const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(key);
    if (!m) fail(`unexpected tensor ${key} (not a PEFT LoRA weight)`);
    const module = (m as RegExpExecArray)[1] as string;
    if (!index.has(module)) fail(`tensor ${key}: unknown module ${module} for this base model`);
    if (!expected.has(module)) fail(`tensor ${key}: module ${module} is not in target_modules/layers`);
    seen.add(key);
  }
  let bytes = 0;
  for (const module of cfg.modules) {
    const [fin, fout] = shape.loraShapes[index.get(module) as number] as [number, number];
    const get = (which: 'A' | 'B', dims: [number, number]): Float32Array => {
      const key = `${PEFT_PREFIX}${module}.lora_${which}.weight`;
      const t = tensors.get(key);
      if (!t) return fail(`missing ${key} (every target module needs lora_A and lora_B)`);
      if (t.dtype !== 'F32' && t.dtype !== 'F16') fail(`${key}: dtype ${t.dtype}, expected F32 or F16`);
      if (t.shape.length !== 2 || t.shape[0] !== dims[0] || t.shape[1] !== dims[1])
        fail(`${key}: shape [${t.shape}], expected [${dims}]`);
      const data = t.data as Float32Array;
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) fail(`${key}: value ${data[i]} at index ${i} is not finite`);
      }
      return data;
    };
    const a = get('A', [cfg.r, fin]);
    const b = get('B', [fout, cfg.r]);
    for (let i = 0; i < b.length; i++) {
      b[i] = (b[i] as number) * scaling;
      // Finite values can overflow float32 once scaled (a huge lora_alpha, or values near its limit).
      if (!Number.isFinite(b[i]))
        fail(
          `${PEFT_PREFIX}${module}.lora_B.weight: value at index ${i} times lora_alpha / r = ${scaling} is not finite`,
        );
    }
    modules.set(module, { r: cfg.r, a, b });
    bytes += (a.length + b.length) * 4;
  }
  return { kind: 'lora', rank: cfg.r, alpha: cfg.alpha, modules, inputs: loraInputs(shape, modules), bytes };
}

interface CheckedConfig {
  r: number;
  alpha: number;
  /** Module paths the adapter must carry, in the graph's order. */
  modules: string[];
}

/** `adapter_config.json` as a JSON object, within the size limit (any PEFT method). */
export function readAdapterConfig(bytes: Uint8Array, limits: Pick<AdapterLimits, 'maxConfigBytes'>) {
  const fail = (msg: string): never => {
    throw new AdapterError(`adapter_config.json: ${msg}`);
  };
  const max = limits.maxConfigBytes ?? 64 * 1024;
  if (bytes.byteLength > max) fail(`${bytes.byteLength} bytes, over the limit of ${max}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    fail('not UTF-8 JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object');
  return raw as Record<string, unknown>;
}

function parseAdapterConfig(bytes: Uint8Array, shape: DecoderShape, limits: AdapterLimits): CheckedConfig {
  const fail = (msg: string): never => {
    throw new AdapterError(`adapter_config.json: ${msg}`);
  };
  const c = readAdapterConfig(bytes, limits);
  if (c.peft_type !== 'LORA') fail(`peft_type is ${JSON.stringify(c.peft_type)}, only "LORA" is served`);
  const r = c.r;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1)
    fail(`r must be a positive integer, got ${r}`);
  if ((r as number) > limits.maxRank)
    fail(`r = ${r} is over this base model's max_lora_rank ${limits.maxRank}`);
  const alpha = c.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) fail(`lora_alpha must be a finite number`);
  const targets = c.target_modules;
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => typeof t === 'string'))
    fail('target_modules must be a non-empty list of module names (regex strings are not supported)');
  for (const t of targets as string[]) {
    if (!limits.targets.includes(t)) fail(`target module ${t} is not one of ${limits.targets.join(', ')}`);
  }
  for (const flag of ['use_dora', 'use_rslora', 'fan_in_fan_out'] as const) {
    if (c[flag] !== undefined && c[flag] !== null && c[flag] !== false) fail(`${flag} must be false`);
  }
  if (c.bias !== undefined && c.bias !== null && c.bias !== 'none') fail(`bias must be "none"`);
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = c[k];
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0))
      fail(`${k} is not supported (must be empty)`);
  }
  const mts = c.modules_to_save;
  if (mts !== undefined && mts !== null && !(Array.isArray(mts) && mts.length === 0))
    fail('modules_to_save is not supported');
  let layers: Set<number> | null = null;
  const ltt = c.layers_to_transform;
  if (ltt !== undefined && ltt !== null) {
    const list = typeof ltt === 'number' ? [ltt] : ltt;
    if (!Array.isArray(list) || !list.every((x) => Number.isSafeInteger(x) && x >= 0 && x < shape.nLayers))
      fail(`layers_to_transform must list layers 0..${shape.nLayers - 1}`);
    layers = new Set(list as number[]);
  }
  const modules = shape.loraModules.filter((m) => {
    const parts = m.split('.'); // model.layers.{i}.{self_attn|mlp}.{target}
    const layer = Number(parts[2]);
    return (targets as string[]).includes(parts[4] as string) && (!layers || layers.has(layer));
  });
  if (modules.length === 0) fail('targets no module of this base model');
  return { r: r as number, alpha: alpha as number, modules };
}

export interface ComposedLora {
  inputs: LoraInputs;
  /** Bytes of tensor data held (shared arrays counted too: an upper bound). */
  bytes: number;
}

/**
 * Several adapters applied at once, each scaled by its weight: ranks concatenated per module. Modules no
 * adapter touches are left out (the decoder feeds rank 0 for them). Weights must be finite; 0 drops a part.
 */
export function composeLora(
  shape: DecoderShape,
  parts: readonly { adapter: LoraAdapter; weight: number }[],
): ComposedLora {
  for (const p of parts) {
    if (!Number.isFinite(p.weight)) throw new AdapterError(`adapter weight ${p.weight} is not finite`);
  }
  const live = parts.filter((p) => p.weight !== 0);
  const modules = new Map<string, LoraModuleWeights>();
  let bytes = 0;
  shape.loraModules.forEach((module, j) => {
    const [fin, fout] = shape.loraShapes[j] as [number, number];
    const here = live.flatMap((p) => {
      const w = p.adapter.modules.get(module);
      return w ? [{ w, weight: p.weight }] : [];
    });
    if (here.length === 0) return;
    const only = here[0] as { w: LoraModuleWeights; weight: number };
    if (here.length === 1 && only.weight === 1) {
      modules.set(module, only.w);
      bytes += (only.w.a.length + only.w.b.length) * 4;
      return;
    }
    const rank = here.reduce((s, h) => s + h.w.r, 0);
    const a = new Float32Array(rank * fin);
    const b = new Float32Array(fout * rank);
    let off = 0;
    for (const { w, weight } of here) {
      a.set(w.a, off * fin);
      for (let o = 0; o < fout; o++) {
        const src = o * w.r;
        const dst = o * rank + off;
        for (let c = 0; c < w.r; c++) b[dst + c] = weight * (w.b[src + c] as number);
      }
      off += w.r;
    }
    modules.set(module, { r: rank, a, b });
    bytes += (a.length + b.length) * 4;
  });
  return { inputs: loraInputs(shape, modules), bytes };
}

function loraInputs(shape: DecoderShape, modules: Map<string, LoraModuleWeights>): LoraInputs {
  const out: LoraInputs = {};
  shape.loraModules.forEach((module, j) => {
    const w = modules.get(module);
    if (!w) return;
    const [fin, fout] = shape.loraShapes[j] as [number, number];
    // One pair for every row of a batch: the graph's leading axis is 1 (broadcast) or one pair per row.
    out[`${module}.lora_A.weight`] = new ort.Tensor('float32', w.a, [1, w.r, fin]);
    out[`${module}.lora_B.weight`] = new ort.Tensor('float32', w.b, [1, fout, w.r]);
  });
  return out;
}
