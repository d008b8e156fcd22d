// The engine on the shipped model (models/brown-4m): generation, scoring and adapters end to end.
// Small max_tokens throughout: the suite must stay fast on two shared cores.
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../core/node/file-store.js';
import { MemoryStore } from '../core/storage/memory-store.js';
import { Engine } from './engine.js';
import { ModelPackageError } from './errors.js';
import type { Generation } from './generate.js';
import { loadModelPackage } from './model-package.js';
import { argmax } from './sampler.js';
import { adapterFiles, randomAdapter, randomLoraTensors, TestAdapters } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const BASE = 'brown-4m';
const adapters = new TestAdapters(BASE);
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.load(new FileStore(root), 'models/brown-4m', { loader: adapters });
}, 60_000);

async function collect(gen: Generation) {
  const pieces: string[] = [];
  for await (const p of gen) pieces.push(p.text);
  return { pieces, result: await gen.result };
}

/** Greedy decoding by full forward passes (no KV cache): the reference for the decode loop. */
async function greedyReference(prompt: string, n: number): Promise<number[]> {
  const { tokenizer, decoder } = engine.model(BASE);
  const v = decoder.shape.vocabSize;
  const seq = [tokenizer.bosId, ...tokenizer.encode(prompt)];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { logits } = await decoder.run({ ids: [seq] });
    const tok = argmax(logits.subarray((seq.length - 1) * v, seq.length * v));
    if (tok === tokenizer.eosId) break;
    out.push(tok);
    seq.push(tok);
  }
  return out;
}

function textOf(ids: number[]): string {
  const d = new TextDecoder();
  return ids.map((id) => d.decode(engine.model(BASE).tokenizer.tokenBytes(id), { stream: true })).join('');
}

const adapterRef = (key: string, seed: number, weight?: number, r = 4) =>
  adapters.ref(
    key,
    async () =>
      randomAdapter(engine.model(BASE).shape, {
        r,
        alpha: 8,
        targets: ['q_proj', 'v_proj', 'down_proj'],
        seed,
        scale: 0.3,
      }),
    weight,
  );

describe('model package', () => {
  it('is loaded once per process and store: the session is shared', async () => {
    const store = new FileStore(root);
    const [a, b] = await Promise.all([
      loadModelPackage(store, 'models/brown-4m'),
      loadModelPackage(store, 'models/brown-4m/'),
    ]);
    expect(a).toBe(b);
  });

  it('a missing package is a clear error, and is not cached', async () => {
    const store = new MemoryStore();
    await expect(loadModelPackage(store, 'models/none/')).rejects.toThrow(ModelPackageError);
    await expect(loadModelPackage(store, 'models/none/')).rejects.toThrow(/models\/none\/: .* is missing/);
  });
});

describe('generation', () => {
  const prompt = 'The detective opened the door and';

  it('greedy decoding equals the argmax of full forward passes', async () => {
    const ref = await greedyReference(prompt, 8);
    const r = await engine.generate(prompt, { base: BASE, temperature: 0, maxTokens: 8 }).result;
    expect(r.text).toBe(textOf(ref));
    expect(r.promptTokens).toBe(engine.model(BASE).tokenizer.encode(prompt).length);
  });

  it('the same seed gives the same text; other seeds give other texts', async () => {
    const opts = { temperature: 1, topK: 0, topP: 1, maxTokens: 10 };
    const a = await engine.generate(prompt, { base: BASE, ...opts, seed: 7 }).result;
    const b = await engine.generate(prompt, { base: BASE, ...opts, seed: 7 }).result;
    expect(b.text).toBe(a.text);
    expect(b.seed).toBe(7);
    const others = await Promise.all(
      [8, 9, 10].map((seed) => engine.generate(prompt, { base: BASE, ...opts, seed }).result),
    );
    expect(new Set([a.text, ...others.map((o) => o.text)]).size).toBeGreaterThan(1);
  });

  it('stops at max tokens with finish reason length, and streams the same text', async () => {
    const { pieces, result } = await collect(
      engine.generate(prompt, { base: BASE, temperature: 0.7, seed: 1, maxTokens: 5 }),
    );
    expect(result.finishReason).toBe('length');
    expect(result.completionTokens).toBe(5);
    expect(pieces.join('')).toBe(result.text);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.firstTokenMs);
    expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
  });

  it('a stop string ends the text before it, even across tokens, and never reaches the stream', async () => {
    const ids = await greedyReference(prompt, 12);
    expect(ids.length).toBeGreaterThan(4);
    // Two characters either side of the boundary between token 2 and token 3.
    const head = textOf(ids.slice(0, 3));
    const full = textOf(ids);
    const stop = full.slice(head.length - 2, head.length + 2);
    const { pieces, result } = await collect(
      engine.generate(prompt, { base: BASE, temperature: 0, maxTokens: 12, stop: [stop] }),
    );
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(pieces.join('')).toBe(result.text);
  });

  it('cuts a long prompt from the left to leave room to generate', async () => {
    const long = 'the cat sat on the mat and looked at the dog. '.repeat(40);
    const n = engine.model(BASE).tokenizer.encode(long).length;
    expect(n).toBeGreaterThan(256);
    const r = await engine.generate(long, { base: BASE, temperature: 0, maxTokens: 4 }).result;
    expect(r.promptTruncated).toBe(true);
    expect(r.promptTokens).toBe(256 - 4 - 1);
    expect(r.completionTokens).toBe(4);
  });

  it('two concurrent seeded generations give the texts each gives alone', async () => {
    const o1 = { temperature: 0.9, seed: 11, maxTokens: 8, adapters: [adapterRef('conc-a', 5)] };
    const o2 = { temperature: 0.9, seed: 12, maxTokens: 8 };
    const alone1 = await engine.generate('Once upon a time', { base: BASE, ...o1 }).result;
    const alone2 = await engine.generate('She said', { base: BASE, ...o2 }).result;
    const [c1, c2] = await Promise.all([
      engine.generate('Once upon a time', { base: BASE, ...o1 }).result,
      engine.generate('She said', { base: BASE, ...o2 }).result,
    ]);
    expect(c1.text).toBe(alone1.text);
    expect(c2.text).toBe(alone2.text);
  });

  it('refuses bad options', () => {
    expect(() => engine.generate('x', { base: BASE, maxTokens: 0 })).toThrow(RangeError);
    expect(() => engine.generate('x', { base: BASE, topP: 0 })).toThrow(RangeError);
    expect(() => engine.generate('x', { base: BASE, temperature: -1 })).toThrow(RangeError);
  });

  it('leaving the stream early cancels the generation', async () => {
    const gen = engine.generate(prompt, { base: BASE, temperature: 0, maxTokens: 200 });
    for await (const _ of gen) break;
    await expect(gen.result).rejects.toMatchObject({ name: 'AbortError' });
    expect(engine.metrics().generationsActive).toBe(0);
  });

  it('an aborted generation rejects', async () => {
    const ctl = new AbortController();
    const gen = engine.generate('x', { base: BASE, maxTokens: 50, signal: ctl.signal });
    ctl.abort();
    await expect(gen.result).rejects.toThrow();
  });
});

describe('scoring', () => {
  const context = 'It was a dark and stormy night.';
  const texts = [' The rain fell.', ' He ran home to his wife, who was waiting at the window.', ' Quiet.'];

  it('equals the summed log-softmax of a full forward pass over the text tokens only', async () => {
    const [got] = await engine.score([texts[1] as string], { base: BASE, context });
    const { tokenizer, decoder } = engine.model(BASE);
    const v = decoder.shape.vocabSize;
    const ctxIds = tokenizer.encode(context);
    const txtIds = tokenizer.encode(texts[1] as string);
    const seq = [tokenizer.bosId, ...ctxIds, ...txtIds];
    const { logits } = await decoder.run({ ids: [seq] });
    let nll = 0;
    for (let p = 1 + ctxIds.length; p < seq.length; p++) {
      const row = Array.from(logits.subarray((p - 1) * v, p * v));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      nll += lse - (row[seq[p] as number] as number);
    }
    expect(got?.tokens).toBe(txtIds.length);
    expect(got?.nll).toBeCloseTo(nll, 4);
    expect(got?.meanNll).toBeCloseTo(nll / txtIds.length, 5);
    expect(got?.tokenNlls.length).toBe(txtIds.length);
  });

  it('memory comes before the context: scoring after it equals scoring after memory + context as one context', async () => {
    const memory = 'The storm had lasted three days.\n\n';
    const [got] = await engine.score([texts[1] as string], { base: BASE, context, memory });
    const [joined] = await engine.score([texts[1] as string], { base: BASE, context: memory + context });
    const { tokenizer } = engine.model(BASE);
    // The same tokens when memory's last token does not merge with the context's first (here: a blank line).
    expect(tokenizer.encode(memory + context)).toEqual([
      ...tokenizer.encode(memory),
      ...tokenizer.encode(context),
    ]);
    expect(got?.memoryTokens).toBe(tokenizer.encode(memory).length);
    expect(got?.nll).toBeCloseTo(joined?.nll as number, 4);
  });

  it('batched scoring equals scoring one by one', async () => {
    const batched = await engine.score(texts, { base: BASE, context });
    for (let i = 0; i < texts.length; i++) {
      const [one] = await engine.score([texts[i] as string], { base: BASE, context });
      expect(batched[i]?.tokens).toBe(one?.tokens);
      expect(batched[i]?.nll).toBeCloseTo(one?.nll as number, 3);
    }
  });

  it('an empty text scores zero; a text longer than the context is refused', async () => {
    const [empty] = await engine.score([''], { base: BASE });
    expect(empty).toMatchObject({ tokens: 0, nll: 0, meanNll: 0 });
    await expect(engine.score(['word '.repeat(300)], { base: BASE })).rejects.toThrow(RangeError);
  });
});

describe('adapters', () => {
  const text = [' and then the night came down over the town.'];

  it('an adapter changes the output', async () => {
    const [base] = await engine.score(text, { base: BASE });
    const [tuned] = await engine.score(text, { base: BASE, adapters: [adapterRef('change', 1)] });
    expect(Math.abs((tuned?.nll as number) - (base?.nll as number))).toBeGreaterThan(1e-2);
  });

  it('composition with weights equals one adapter with the ranks concatenated by hand', async () => {
    const { shape } = engine.model(BASE);
    const targets = ['q_proj', 'v_proj', 'down_proj'];
    const t1 = randomLoraTensors(shape, { r: 4, alpha: 8, targets, seed: 21, scale: 0.3 });
    const t2 = randomLoraTensors(shape, {
      r: 2,
      alpha: 6,
      targets: ['q_proj', 'up_proj'],
      seed: 22,
      scale: 0.3,
    });
    const [w1, w2] = [0.7, -0.4];
    const f1 = adapterFiles(t1, { r: 4, alpha: 8, targets });
    const f2 = adapterFiles(t2, { r: 2, alpha: 6, targets: ['q_proj', 'up_proj'] });
    // Merged: rank 6, alpha 6 (scaling 1): B = [w1·(8/4)·B1, w2·(6/2)·B2], zero blocks where one is absent.
    const merged = new Map<string, { a: Float32Array; b: Float32Array; r: number }>();
    shape.loraModules.forEach((m, j) => {
      const [fin, fout] = shape.loraShapes[j] as [number, number];
      const p1 = t1.get(m);
      const p2 = t2.get(m);
      if (!p1 && !p2) return;
      const a = new Float32Array(6 * fin);
      const b = new Float32Array(fout * 6);
      if (p1) a.set(p1.a, 0);
      if (p2) a.set(p2.a, 4 * fin);
      for (let o = 0; o < fout; o++) {
        for (let c = 0; c < 4; c++) b[o * 6 + c] = p1 ? w1 * 2 * (p1.b[o * 4 + c] as number) : 0;
        for (let c = 0; c < 2; c++) b[o * 6 + 4 + c] = p2 ? w2 * 3 * (p2.b[o * 2 + c] as number) : 0;
      }
      merged.set(m, { a, b, r: 6 });
    });
    const fm = adapterFiles(merged, {
      r: 6,
      alpha: 6,
      targets: ['q_proj', 'v_proj', 'up_proj', 'down_proj'],
    });
    const [composed] = await engine.score(text, {
      base: BASE,
      adapters: [adapters.ref('c1', f1, w1), adapters.ref('c2', f2, w2)],
    });
    const [byHand] = await engine.score(text, { base: BASE, adapters: [adapters.ref('merged', fm)] });
    const [base] = await engine.score(text, { base: BASE });
    expect(Math.abs((composed?.nll as number) - (base?.nll as number))).toBeGreaterThan(1e-2);
    composed?.tokenNlls.forEach((x, i) => {
      expect(x).toBeCloseTo(byHand?.tokenNlls[i] as number, 4);
    });
  });

  it('an adapter composed with itself at 0.5 + 0.5 equals the adapter alone; weight 0 is the base', async () => {
    const one = adapterRef('self', 3);
    const [alone] = await engine.score(text, { base: BASE, adapters: [one] });
    const [halves] = await engine.score(text, {
      base: BASE,
      adapters: [
        { ...one, weight: 0.5 },
        { ...one, weight: 0.5 },
      ],
    });
    expect(halves?.nll).toBeCloseTo(alone?.nll as number, 4);
    const [zero] = await engine.score(text, { base: BASE, adapters: [{ ...one, weight: 0 }] });
    const [base] = await engine.score(text, { base: BASE });
    expect(zero?.nll).toBeCloseTo(base?.nll as number, 5);
  });

  it('an adapter made by the trainer (train-lora) scores as the trainer evaluated it', async () => {
    const { tokenizer } = engine.model(BASE);
    const dir = await mkdtemp(join(tmpdir(), 'tailor-lora-'));
    const ex = (prompt: string, completion: string) => ({
      prompt: tokenizer.encode(prompt),
      completion: tokenizer.encode(completion),
      weight: 1,
    });
    const heldout = { context: 'The old captain', text: ' sailed into the harbour at dawn.' };
    const job = {
      version: 1,
      base_model: join(root, 'models/brown-4m'),
      lora: { r: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] },
      train: { steps: 2, lr: 0.01, batch_size: 2, eval_every: 1, patience: 3, max_len: 32, seed: 0 },
      users: [
        {
          id: 'u1',
          out_dir: join(dir, 'u1'),
          train: [ex('The captain', ' sailed at dawn.'), ex('She', ' walked into the harbour.')],
          heldout: [ex(heldout.context, heldout.text)],
        },
      ],
    };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job));
    const out = execFileSync(
      '/usr/bin/python3',
      ['-m', 'tailor_trainer', 'train-lora', '--job', join(dir, 'job.json')],
      {
        cwd: join(root, 'gpu-worker/trainer'),
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).toString();
    const result = JSON.parse(out.trim().split('\n').pop() as string);
    const trainerLoss = result.users[0].heldout_loss_after as number;
    const store = new FileStore(join(dir, 'u1'));
    const ref = adapters.ref('trainer-u1', async () => ({
      config: (await store.get('adapter_config.json')) as Uint8Array,
      weights: (await store.get('adapter_model.safetensors')) as Uint8Array,
    }));
    const [scored] = await engine.score([heldout.text], {
      base: BASE,
      context: heldout.context,
      adapters: [ref],
    });
    const [base] = await engine.score([heldout.text], { base: BASE, context: heldout.context });
    expect(scored?.meanNll).toBeCloseTo(trainerLoss, 3);
    expect(Math.abs((scored?.meanNll as number) - (base?.meanNll as number))).toBeGreaterThan(1e-3);
  });

  it('a refused adapter fails the request with an AdapterError, and is not cached', async () => {
    const bad = adapters.ref('bad', {
      config: new TextEncoder().encode('{"peft_type":"IA3"}'),
      weights: new Uint8Array(8),
    });
    await expect(engine.score(text, { base: BASE, adapters: [bad] })).rejects.toThrow(
      /adapter bad: .*peft_type/,
    );
    const gen = engine.generate('x', { base: BASE, adapters: [bad], maxTokens: 2 });
    await expect(gen.result).rejects.toMatchObject({ name: 'AdapterError' });
    const m = engine.metrics();
    expect(m.adapterCache.loadErrors).toBeGreaterThanOrEqual(2);
    expect(m.generationsFailed).toBeGreaterThanOrEqual(1);
  });

  it('a hundred concurrent requests for a cold adapter cause one load', async () => {
    let loads = 0;
    const ref = adapters.ref('adapters/app/u1/v1/', async () => {
      loads++;
      return randomAdapter(engine.model(BASE).shape, { r: 2, alpha: 4, targets: ['q_proj'], seed: 9 });
    });
    const inputs = await Promise.all(Array.from({ length: 100 }, () => engine.resolveAdapters([ref], BASE)));
    expect(loads).toBe(1);
    expect(new Set(inputs).size).toBe(1);
  });

  it('metrics count generations, tokens and cache use', () => {
    const m = engine.metrics();
    expect(m.generationsStarted).toBeGreaterThan(0);
    expect(m.completionTokens).toBeGreaterThan(0);
    expect(m.adapterCache.hits).toBeGreaterThan(0);
    expect(m.adapterCache.bytes).toBeGreaterThan(0);
    expect(m.generationsActive).toBe(0);
  });
});

describe('bases', () => {
  it('names the bases it serves; any other base, or a ref made for one, is refused with unknown_base', async () => {
    expect(engine.bases().map((b) => b.id)).toEqual([BASE]);
    expect(engine.model(BASE).prefix).toBe('models/brown-4m/');
    expect(() => engine.model('other-base')).toThrow(expect.objectContaining({ code: 'unknown_base' }));
    expect(() => engine.generate('x', { base: 'other-base', maxTokens: 1 })).toThrow(/other-base/);
    await expect(engine.score(['x'], { base: 'other-base' })).rejects.toMatchObject({ code: 'unknown_base' });
    const foreign = { ...adapterRef('foreign', 4), base: 'other-base' };
    await expect(engine.prepareAdapters([foreign], { base: BASE })).rejects.toMatchObject({
      code: 'unknown_base',
      message: expect.stringMatching(/foreign was made for base model other-base/),
    });
  });
});

describe('token ids in place of text', () => {
  const encode = (text: string) => engine.model(BASE).tokenizer.encode(text);

  it('a prompt and memory given as ids generate what their text generates', async () => {
    const opts = { base: BASE, temperature: 0.8, seed: 5, maxTokens: 12 };
    const prompt = 'The detective opened the door and';
    const memory = 'The storm had lasted three days.\n\n';
    const byText = await engine.generate(prompt, { ...opts, memory }).result;
    const byIds = await engine.generate({ ids: encode(prompt) }, { ...opts, memory: { ids: encode(memory) } })
      .result;
    const { timings: _a, ...a } = byText;
    const { timings: _b, ...b } = byIds;
    expect(b).toEqual(a);
  });

  it('texts, context and memory given as ids score what their text scores', async () => {
    const texts = [' The rain fell.', ' He ran home.'];
    const context = 'It was a dark and stormy night.';
    const memory = 'The storm had lasted three days.\n\n';
    const byText = await engine.score(texts, { base: BASE, context, memory });
    const byIds = await engine.score(
      texts.map((t) => ({ ids: encode(t) })),
      { base: BASE, context: { ids: encode(context) }, memory: { ids: encode(memory) } },
    );
    expect(byIds).toEqual(byText);
  });

  it('refuses an id the tokenizer does not have', async () => {
    const vocab = engine.model(BASE).tokenizer.vocabSize;
    await expect(engine.generate({ ids: [1, vocab] }, { base: BASE, maxTokens: 1 }).result).rejects.toThrow(
      RangeError,
    );
    await expect(engine.score([{ ids: [-1] }], { base: BASE })).rejects.toThrow(/not in the vocabulary/);
  });
});
