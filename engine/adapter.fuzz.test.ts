// Property-based fuzzing (fast-check, fixed seeds) of the PEFT adapter reader: adapter_config.json mutated
// (every field of the wrong type, out of range, huge, NaN-ish, missing; random JSON and bytes), the weights
// mutated (entries renamed, retyped, reshaped, offsets moved, values NaN/Inf/huge, bytes flipped, cut short)
// and both random. parseAdapter returns an adapter fit for the decoder (every module's A [r, in] and B [out, r]
// of finite values, lora_alpha / r included), or throws an AdapterError: never another exception, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decoderShapeFromConfig } from '../core/model/config.js';
import { type AdapterFiles, type LoraAdapter, parseAdapter } from './adapter.js';
import { AdapterError } from './errors.js';
import { peftConfig, type RawTensor, randomLoraTensors, writeSafetensors } from './testing.js';

const SEED = 20_260_519;
const RUNS = 250;
const SLOW_MS = 1_000;

// A small decoder: files stay small, so mutations land on structure more often than on values.
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const shape = decoderShapeFromConfig({
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  hidden_size: 8,
  intermediate_size: 12,
  vocab_size: 16,
  tailor: { lora_targets: TARGETS },
});
const limits = { maxRank: 8, targets: TARGETS };
const spec = { r: 2, alpha: 4, targets: ['q_proj', 'down_proj'] };
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** The valid adapter's tensors as safetensors entries, to mutate. */
function validTensors(): Record<string, RawTensor> {
  const raw: Record<string, RawTensor> = {};
  for (const [m, { a, b, r }] of randomLoraTensors(shape, { ...spec, seed: 5 })) {
    raw[`base_model.model.${m}.lora_A.weight`] = { dtype: 'F32', shape: [r, a.length / r], data: a };
    raw[`base_model.model.${m}.lora_B.weight`] = { dtype: 'F32', shape: [b.length / r, r], data: b };
  }
  return raw;
}

/** The adapter, or the error it threw; anything but an AdapterError, or an unfit adapter, fails here. */
function parse(files: AdapterFiles): LoraAdapter | AdapterError {
  const t0 = performance.now();
  let ad: LoraAdapter;
  try {
    ad = parseAdapter(files, shape, limits);
  } catch (e) {
    if (!(e instanceof AdapterError)) throw new Error(`not an AdapterError: ${String(e)}`, { cause: e });
    expect(e.message).toMatch(/^adapter_(config\.json|model\.safetensors): /);
    return e;
  } finally {
    expect(performance.now() - t0).toBeLessThan(SLOW_MS);
  }
  expect(Number.isSafeInteger(ad.rank) && ad.rank >= 1 && ad.rank <= limits.maxRank).toBe(true);
  expect(Number.isFinite(ad.alpha)).toBe(true);
  expect(ad.modules.size).toBeGreaterThan(0);
  for (const [module, w] of ad.modules) {
    const j = shape.loraModules.indexOf(module);
    expect(j, module).toBeGreaterThanOrEqual(0);
    const [fin, fout] = shape.loraShapes[j] as [number, number];
    expect(w.r).toBe(ad.rank);
    expect(w.a.length, `${module} A`).toBe(w.r * fin);
    expect(w.b.length, `${module} B`).toBe(fout * w.r);
    const bad = [...w.a, ...w.b].findIndex((x) => !Number.isFinite(x));
    expect(bad, `${module}: a value that is not finite, at ${bad}`).toBe(-1);
    expect(ad.inputs[`${module}.lora_A.weight`]?.dims).toEqual([1, w.r, fin]);
    expect(ad.inputs[`${module}.lora_B.weight`]?.dims).toEqual([1, fout, w.r]);
  }
  return ad;
}

const hostileNumber = fc.constantFrom(
  0,
  -1,
  1.5,
  2 ** 53,
  1e300,
  -1e300,
  1e39,
  3.5e38,
  1e-300,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  9,
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.constantFrom(null, true, false, '', 'NaN', 'Infinity', '4', 'LORA', 'lora', [], {}, [0], ['q_proj']),
  fc.constantFrom(['q_proj', 'nope'], ['.*'], 'q_proj', ['q_proj', 'q_proj'], [0, 1], [-1], [2], {
    q_proj: 4,
  }),
  fc.double(),
  fc.integer({ min: -3, max: 10 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const configKey = fc.constantFrom(
  'peft_type',
  'r',
  'lora_alpha',
  'target_modules',
  'layers_to_transform',
  'use_dora',
  'use_rslora',
  'fan_in_fan_out',
  'bias',
  'rank_pattern',
  'alpha_pattern',
  'modules_to_save',
  '__proto__',
  'extra',
);

const fast = (salt: number, runs = RUNS) => ({ seed: SEED + salt, numRuns: runs });

describe('parseAdapter under fuzzing', () => {
  it('reads the valid adapter it is fed', () => {
    const ad = parse({ config: enc(peftConfig(spec)), weights: writeSafetensors(validTensors()) });
    expect(ad).not.toBeInstanceOf(AdapterError);
  });

  it(`answers adapter_config.json mutated (${RUNS} runs)`, () => {
    const weights = writeSafetensors(validTensors());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(configKey, fc.option(junk, { nil: undefined })), { minLength: 1, maxLength: 4 }),
        (changes) => {
          const c = peftConfig(spec) as Record<string, unknown>;
          for (const [k, v] of changes) {
            if (v === undefined) delete c[k];
            else
              Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true });
          }
          parse({ config: enc(c), weights });
        },
      ),
      fast(0),
    );
  });

  it(`answers random configs: JSON, text and bytes (${RUNS} runs)`, () => {
    const weights = writeSafetensors(validTensors());
    const good = JSON.stringify(peftConfig(spec));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json({ maxDepth: 3 }).map((t) => new TextEncoder().encode(t)),
          fc.string({ unit: 'binary', maxLength: 100 }).map((t) => new TextEncoder().encode(t)),
          fc.uint8Array({ maxLength: 100 }),
          fc.nat(good.length).map((n) => new TextEncoder().encode(good.slice(0, n))),
          fc.constant(new TextEncoder().encode(`${good}${' '.repeat(70_000)}`)),
        ),
        (config) => {
          parse({ config, weights });
        },
      ),
      fast(1),
    );
  });

  it(`answers the weights mutated: names, dtypes, shapes, offsets, values, bytes (${RUNS} runs)`, () => {
    const names = Object.keys(validTensors());
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('rename' as const),
        pick: fc.nat(),
        to: fc.oneof(
          fc.constantFrom(
            'base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight',
            'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight',
            'base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight',
            'base_model.model.lm_head.weight',
            'model.layers.0.self_attn.q_proj.lora_A.weight',
            '__proto__',
            '__metadata__',
          ),
          fc.string({ maxLength: 20 }),
        ),
      }),
      fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('retype' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('reshape' as const),
        pick: fc.nat(),
        shape: fc.array(fc.nat(16), { maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('value' as const),
        pick: fc.nat(),
        at: fc.nat(),
        value: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -3.4e38, 3.4e38, 1e-45, -0),
      }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const raw = validTensors();
        for (const m of ms) {
          const keys = Object.keys(raw);
          if (keys.length === 0) break;
          const key = keys[('pick' in m ? m.pick : 0) % keys.length] as string;
          const t = raw[key] as RawTensor;
          if (m.kind === 'rename') {
            delete raw[key];
            Object.defineProperty(raw, m.to, {
              value: t,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else if (m.kind === 'drop') delete raw[key];
          else if (m.kind === 'retype')
            raw[key] = { dtype: 'I32', shape: t.shape, data: new Int32Array(t.data.buffer.slice(0)) };
          else if (m.kind === 'reshape') {
            const n = m.shape.reduce((a, b) => a * b, 1);
            raw[key] = { dtype: t.dtype, shape: m.shape, data: new Float32Array(n) } as RawTensor;
          } else if (m.kind === 'value' && t.data.length > 0) {
            const data = new Float32Array(t.data);
            data[m.at % data.length] = m.value;
            raw[key] = { ...t, data };
          }
        }
        let weights = writeSafetensors(raw);
        for (const m of ms) {
          if (m.kind === 'flip') weights[m.at % weights.length] = m.byte;
          else if (m.kind === 'cut') weights = weights.subarray(0, m.at % weights.length);
        }
        parse({ config: enc(peftConfig(spec)), weights });
      }),
      fast(2),
    );
    expect(names.length).toBe(2 * 2 * shape.nLayers);
  });

  it(`answers random weights (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (weights) => {
        parse({ config: enc(peftConfig(spec)), weights });
      }),
      fast(3),
    );
  });

  it('refuses a lora_alpha that scales B out of float32 range (a regression the fuzzing found)', () => {
    const weights = writeSafetensors(validTensors());
    for (const alpha of [1e300, -1e300, 1e41]) {
      const ad = parse({ config: enc(peftConfig({ ...spec, alpha })), weights });
      expect(ad).toBeInstanceOf(AdapterError);
      expect((ad as AdapterError).message).toMatch(/lora_alpha/);
    }
  });
});
