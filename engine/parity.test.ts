// The ONNX graph on onnxruntime-web gives the PyTorch model's logits (max abs diff ≤ 1e-4, fp32): a full
// prompt, token-by-token decoding through the KV cache, no adapter, a random rank-8 adapter on every target,
// two adapters composed by rank concatenation, and a prefix (prefix tuning: read from its PEFT tensor by the
// engine's own reader, fed as past positions) alone, over a LoRA, and decoded token by token. Reference values are dumped by the trainer
// (`python3 -m tailor_trainer dump-golden`), regenerated here whenever the model is newer than the dump.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { decoderShapeFromConfig } from '../core/model/config.js';
import { Decoder, type KVCache, type LoraInputs } from './decoder.js';
import { parsePrefixAdapter } from './prefix.js';
import { parseSafetensors, type SafetensorsFile } from './safetensors.js';
import { prefixFiles } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const modelDir = resolve(root, process.env.TAILOR_PARITY_MODEL ?? 'models/brown-4m');
const golden = join(root, 'data/golden', `${modelDir.split('/').pop()}.safetensors`);
const TOLERANCE = 1e-4;

function ensureGolden(): void {
  const model = join(modelDir, 'model.safetensors');
  if (existsSync(golden) && statSync(golden).mtimeMs > statSync(model).mtimeMs) return;
  mkdirSync(dirname(golden), { recursive: true });
  execFileSync(
    '/usr/bin/python3',
    ['-m', 'tailor_trainer', 'dump-golden', '--model', modelDir, '--out', golden],
    {
      cwd: join(root, 'gpu-worker/trainer'),
      stdio: 'inherit',
    },
  );
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe(`ONNX parity with PyTorch (${modelDir.split('/').pop()})`, () => {
  let decoder: Decoder;
  let ref: SafetensorsFile;
  const cases = () => JSON.parse(ref.metadata.cases ?? '[]') as { name: string; prompt_len?: number }[];
  const ids = (name: string) =>
    Array.from(ref.tensors.get(`${name}.input_ids`)?.data as BigInt64Array, Number);
  const logits = (name: string) => ref.tensors.get(`${name}.logits`)?.data as Float32Array;
  const lora = (name: string): LoraInputs | undefined => {
    const out: LoraInputs = {};
    const prefix = `${name}.lora.`;
    for (const [key, t] of ref.tensors) {
      if (key.startsWith(prefix))
        out[key.slice(prefix.length)] = new ort.Tensor('float32', t.data as Float32Array, [1, ...t.shape]);
    }
    return Object.keys(out).length ? out : undefined;
  };
  /** The case's prefix as the engine reads it from an adapter file holding the trainer's tensor. */
  const prefix = (name: string): KVCache | undefined => {
    const t = ref.tensors.get(`${name}.prefix`);
    if (!t) return undefined;
    const files = prefixFiles(decoder.shape, t.data as Float32Array);
    return parsePrefixAdapter(files, decoder.shape, {}, 256).kv;
  };

  beforeAll(async () => {
    ensureGolden();
    ref = parseSafetensors(readFileSync(golden));
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    decoder = await Decoder.create(
      readFileSync(join(modelDir, 'model.onnx')),
      decoderShapeFromConfig(config),
    );
  }, 120_000);

  it('dumps every case the trainer promises', () => {
    expect(cases().map((c) => c.name)).toEqual([
      'prompt',
      'decode',
      'lora_r8',
      'compose',
      'lora_decode',
      'prefix',
      'prefix_lora',
      'prefix_decode',
    ]);
  });

  for (const name of ['prompt', 'lora_r8', 'compose', 'prefix', 'prefix_lora']) {
    it(`full prompt: ${name}`, async () => {
      const past = prefix(name);
      const out = await decoder.run({ ids: [ids(name)], lora: lora(name), ...(past ? { past } : {}) });
      expect(maxAbsDiff(out.logits, logits(name))).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  for (const name of ['decode', 'lora_decode', 'prefix_decode']) {
    it(`token by token through the KV cache: ${name}`, async () => {
      const c = cases().find((x) => x.name === name);
      const all = ids(name);
      const n = c?.prompt_len ?? 1;
      const adapter = lora(name);
      const past = prefix(name);
      let out = await decoder.run({ ids: [all.slice(0, n)], lora: adapter, ...(past ? { past } : {}) });
      const got = [out.logits];
      for (let t = n; t < all.length; t++) {
        out = await decoder.run({ ids: [[all[t] as number]], past: out.present, lora: adapter });
        got.push(out.logits);
      }
      const joined = new Float32Array(got.reduce((s, x) => s + x.length, 0));
      let at = 0;
      for (const g of got) {
        joined.set(g, at);
        at += g.length;
      }
      expect(maxAbsDiff(joined, logits(name))).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('an adapter changes the logits (the rank-0 default is what "prompt" checks)', async () => {
    const base = await decoder.run({ ids: [ids('prompt')] });
    const withLora = await decoder.run({ ids: [ids('prompt')], lora: lora('lora_r8') });
    expect(maxAbsDiff(base.logits, withLora.logits)).toBeGreaterThan(1e-2);
    const past = prefix('prefix');
    expect(past).toBeDefined();
    const withPrefix = await decoder.run({ ids: [ids('prefix')], ...(past ? { past } : {}) });
    const plain = await decoder.run({ ids: [ids('prefix')] });
    expect(maxAbsDiff(plain.logits, withPrefix.logits)).toBeGreaterThan(1e-2);
  });
});
