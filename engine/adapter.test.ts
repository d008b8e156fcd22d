// The adapter reader refuses anything malformed or not made for the base model, with an AdapterError that
// names the problem; a good adapter comes out with lora_alpha / r baked into B.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decoderShapeFromConfig } from '../core/model/config.js';
import { type AdapterFiles, composeLora, parseAdapter } from './adapter.js';
import { AdapterError } from './errors.js';
import { adapterFiles, peftConfig, randomLoraTensors, writeSafetensors } from './testing.js';

const config = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../models/brown-4m/config.json'), 'utf8'),
);
const shape = decoderShapeFromConfig(config);
const limits = {
  maxRank: config.tailor.max_lora_rank as number,
  targets: config.tailor.lora_targets as string[],
};
const spec = { r: 4, alpha: 8, targets: ['q_proj', 'down_proj'] };
const q0 = 'model.layers.0.self_attn.q_proj';
const keyA = `base_model.model.${q0}.lora_A.weight`;
const keyB = `base_model.model.${q0}.lora_B.weight`;

const good = () => randomLoraTensors(shape, { ...spec, seed: 1 });
const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));

/** A weights file from tensors, after `edit` changes its raw entries. */
function weightsWith(
  edit: (
    raw: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }>,
  ) => void,
) {
  const raw: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [m, { a, b, r }] of good()) {
    raw[`base_model.model.${m}.lora_A.weight`] = { dtype: 'F32', shape: [r, a.length / r], data: a };
    raw[`base_model.model.${m}.lora_B.weight`] = { dtype: 'F32', shape: [b.length / r, r], data: b };
  }
  edit(raw);
  return writeSafetensors(raw);
}

function refused(files: AdapterFiles, pattern: RegExp, lim: Parameters<typeof parseAdapter>[2] = limits) {
  let err: unknown;
  try {
    parseAdapter(files, shape, lim);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AdapterError);
  expect((err as Error).message).toMatch(pattern);
}

describe('parseAdapter', () => {
  it('reads a PEFT adapter and bakes the scaling into B', () => {
    const t = good();
    const ad = parseAdapter(adapterFiles(t, spec), shape, limits);
    expect(ad.rank).toBe(4);
    expect(ad.modules.size).toBe(2 * shape.nLayers);
    const m = ad.modules.get(q0);
    expect(Array.from(m?.a ?? [])).toEqual(Array.from(t.get(q0)?.a ?? []));
    expect(m?.b[5]).toBeCloseTo((t.get(q0)?.b[5] as number) * 2, 6);
    expect(ad.inputs[`${q0}.lora_A.weight`]?.dims).toEqual([1, 4, 256]);
    expect(ad.inputs[`${q0}.lora_B.weight`]?.dims).toEqual([1, 256, 4]);
    expect(ad.bytes).toBeGreaterThan(0);
  });

  it('honours layers_to_transform', () => {
    const t = good();
    for (const m of [...t.keys()]) if (!m.startsWith('model.layers.1.')) t.delete(m);
    const ad = parseAdapter(adapterFiles(t, spec, { layers_to_transform: [1] }), shape, limits);
    expect(ad.modules.size).toBe(2);
  });

  it('refuses a truncated weights file', () => {
    const f = adapterFiles(good(), spec);
    refused(
      { ...f, weights: f.weights.subarray(0, f.weights.length - 10) },
      /safetensors.*out of bounds|safetensors/,
    );
    refused({ ...f, weights: f.weights.subarray(0, 5) }, /adapter_model\.safetensors/);
  });

  it('refuses wrong shapes', () => {
    const w = weightsWith((raw) => {
      raw[keyA] = { dtype: 'F32', shape: [4, 128], data: new Float32Array(4 * 128) };
    });
    refused({ config: enc(peftConfig(spec)), weights: w }, /lora_A.*shape \[4,128\], expected \[4,256\]/);
    const rankMismatch = weightsWith((raw) => {
      raw[keyB] = { dtype: 'F32', shape: [256, 2], data: new Float32Array(512) };
    });
    refused({ config: enc(peftConfig(spec)), weights: rankMismatch }, /lora_B.*expected \[256,4\]/);
  });

  it('refuses an unknown module and a module outside target_modules', () => {
    const unknown = weightsWith((raw) => {
      raw['base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight'] = {
        dtype: 'F32',
        shape: [4, 256],
        data: new Float32Array(1024),
      };
    });
    refused({ config: enc(peftConfig(spec)), weights: unknown }, /unknown module model\.layers\.9/);
    const untargeted = weightsWith((raw) => {
      raw['base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'] = {
        dtype: 'F32',
        shape: [4, 256],
        data: new Float32Array(1024),
      };
    });
    refused({ config: enc(peftConfig(spec)), weights: untargeted }, /not in target_modules/);
    const junk = weightsWith((raw) => {
      raw['base_model.model.lm_head.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
    });
    refused({ config: enc(peftConfig(spec)), weights: junk }, /not a PEFT LoRA weight/);
  });

  it('refuses a missing B', () => {
    const w = weightsWith((raw) => {
      delete raw[keyB];
    });
    refused({ config: enc(peftConfig(spec)), weights: w }, /missing .*q_proj\.lora_B\.weight/);
  });

  it('refuses NaN and infinite values', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const w = weightsWith((raw) => {
        (raw[keyB]?.data as Float32Array)[17] = bad;
      });
      refused({ config: enc(peftConfig(spec)), weights: w }, /lora_B.*not finite/);
    }
  });

  it('refuses a dtype other than F32/F16', () => {
    const w = weightsWith((raw) => {
      raw[keyA] = { dtype: 'I32', shape: [4, 256], data: new Int32Array(1024) };
    });
    refused({ config: enc(peftConfig(spec)), weights: w }, /dtype I32/);
  });

  it('refuses bad configs', () => {
    const w = adapterFiles(good(), spec).weights;
    const cases: [object | string, RegExp][] = [
      [{ ...peftConfig(spec), peft_type: 'IA3' }, /peft_type/],
      [peftConfig({ ...spec, r: 65 }), /over this base model's max_lora_rank 64/],
      [peftConfig({ ...spec, r: 0 }), /r must be a positive integer/],
      [peftConfig({ ...spec, r: 2.5 }), /r must be a positive integer/],
      [{ ...peftConfig(spec), lora_alpha: 'x' }, /lora_alpha/],
      [peftConfig({ ...spec, targets: ['q_proj', 'lm_head'] }), /target module lm_head/],
      [{ ...peftConfig(spec), target_modules: '.*q_proj' }, /regex/],
      [peftConfig(spec, { use_dora: true }), /use_dora must be false/],
      [peftConfig(spec, { use_rslora: true }), /use_rslora must be false/],
      [peftConfig(spec, { fan_in_fan_out: true }), /fan_in_fan_out must be false/],
      [peftConfig(spec, { rank_pattern: { q_proj: 8 } }), /rank_pattern/],
      [peftConfig(spec, { modules_to_save: ['lm_head'] }), /modules_to_save/],
      ['{not json', /not UTF-8 JSON/],
      ['[1]', /not a JSON object/],
    ];
    for (const [cfg, pattern] of cases) {
      refused(
        { config: typeof cfg === 'string' ? new TextEncoder().encode(cfg) : enc(cfg), weights: w },
        pattern,
      );
    }
  });

  it('refuses oversize files', () => {
    const f = adapterFiles(good(), spec);
    refused(f, /over the limit of 1000/, { ...limits, maxWeightsBytes: 1000 });
    refused(
      { ...f, config: new Uint8Array(70_000).fill(32) },
      /adapter_config\.json: 70000 bytes, over the limit/,
    );
  });
});

describe('composeLora', () => {
  it('concatenates ranks and weights the B blocks', () => {
    const a1 = parseAdapter(adapterFiles(good(), spec), shape, limits);
    const s2 = { r: 2, alpha: 2, targets: ['q_proj'] };
    const a2 = parseAdapter(adapterFiles(randomLoraTensors(shape, { ...s2, seed: 2 }), s2), shape, limits);
    const c = composeLora(shape, [
      { adapter: a1, weight: 0.5 },
      { adapter: a2, weight: -2 },
    ]);
    const A = c.inputs[`${q0}.lora_A.weight`];
    const B = c.inputs[`${q0}.lora_B.weight`];
    expect(A?.dims).toEqual([1, 6, 256]);
    expect(B?.dims).toEqual([1, 256, 6]);
    const b = B?.data as Float32Array;
    const a = A?.data as Float32Array;
    const m1 = a1.modules.get(q0);
    const m2 = a2.modules.get(q0);
    expect(b[6 * 3 + 1]).toBeCloseTo(0.5 * (m1?.b[4 * 3 + 1] as number), 6);
    expect(b[6 * 3 + 5]).toBeCloseTo(-2 * (m2?.b[2 * 3 + 1] as number), 6);
    expect(a[4 * 256 + 7]).toBe(m2?.a[7]);
    // down_proj only in the first adapter: rank 4; k_proj in neither: left to the decoder's rank 0.
    expect(c.inputs['model.layers.0.mlp.down_proj.lora_A.weight']?.dims).toEqual([1, 4, 704]);
    expect(c.inputs['model.layers.0.self_attn.k_proj.lora_A.weight']).toBeUndefined();
    expect(() => composeLora(shape, [{ adapter: a1, weight: Number.NaN }])).toThrow(AdapterError);
  });
});
