// Log-probabilities from the decode loop: on the shipped model (a distribution that sums to one, the greedy
// token first among the alternatives, the stream's values the result's) and on token scripts (characters split
// across tokens, stop strings, the NUL mask), and nothing at all when not asked for.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TextTokenizer } from '../core/model/tokenizer.js';
import { FileStore } from '../core/node/file-store.js';
import { Engine } from './engine.js';
import type { Generation, TextPiece } from './generate.js';
import { LogprobScorer, type TokenLogprob, tokenText } from './logprobs.js';
import { modelPackageFromParts } from './model-package.js';
import { ScriptedDecoder } from './testing.js';

const root = resolve(import.meta.dirname, '..');
const BASE = 'brown-4m';
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.load(new FileStore(root), 'models/brown-4m');
}, 60_000);

async function collect(gen: Generation) {
  const pieces: TextPiece[] = [];
  for await (const p of gen) pieces.push(p);
  return { pieces, result: await gen.result };
}

const streamed = (pieces: TextPiece[]) => pieces.flatMap((p) => p.logprobs ?? []);

describe('log-probabilities on the shipped model', () => {
  it('the full distribution sums to 1, and masked (NUL) tokens have none', async () => {
    const { tokenizer, decoder } = engine.model(BASE);
    const v = decoder.shape.vocabSize;
    const seq = [tokenizer.bosId, ...tokenizer.encode('The night was')];
    const { logits } = await decoder.run({ ids: [seq] });
    const row = Float32Array.from(logits.subarray((seq.length - 1) * v, seq.length * v));
    for (const id of tokenizer.nulIds) row[id] = Number.NEGATIVE_INFINITY;
    const scorer = new LogprobScorer(tokenizer, v, 20);
    let sum = 0;
    for (let id = 0; id < v; id++) sum += Math.exp(scorer.score(row, id, 0).logprob);
    expect(sum).toBeCloseTo(1, 6);
    const masked = new Set(tokenizer.nulIds);
    const top = scorer.score(row, 0, 0).top;
    expect(top).toHaveLength(20);
    for (const t of top) expect(t.bytes?.includes(0) ?? false).toBe(false);
    for (const id of masked) expect(scorer.score(row, id, 0).logprob).toBe(Number.NEGATIVE_INFINITY);
  });

  it('greedy: each chosen token is the top alternative; values ≤ 0, sorted; the stream carries the same', async () => {
    const gen = engine.generate('Once upon a time', {
      base: BASE,
      temperature: 0,
      maxTokens: 12,
      seed: 1,
      logprobs: 5,
    });
    const { pieces, result } = await collect(gen);
    const lp = result.logprobs as TokenLogprob[];
    expect(lp.length).toBeGreaterThan(0);
    expect(lp.length).toBeLessThanOrEqual(result.completionTokens);
    for (const t of lp) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top).toHaveLength(5);
      expect(t.top[0]).toEqual({ token: t.token, bytes: t.bytes, logprob: t.logprob });
      for (let j = 1; j < t.top.length; j++)
        expect(t.top[j]?.logprob).toBeLessThanOrEqual(t.top[j - 1]?.logprob as number);
    }
    // Every piece's tokens, in order, are the result's; offsets point into the text, bytes make it.
    expect(streamed(pieces)).toEqual(lp);
    expect(pieces.map((p) => p.text).join('')).toBe(result.text);
    expect(new TextDecoder().decode(Uint8Array.from(lp.flatMap((t) => t.bytes ?? [])))).toBe(result.text);
    for (const t of lp)
      expect(result.text.startsWith(t.token, t.offset) || t.token.includes('\\x')).toBe(true);
  });

  it('sampling reports the model distribution: the same tokens, the same numbers whatever the temperature', async () => {
    const a = await engine.generate('The door', {
      base: BASE,
      temperature: 0.7,
      maxTokens: 8,
      seed: 4,
      logprobs: 2,
    }).result;
    const b = await engine.generate('The door', {
      base: BASE,
      temperature: 0.7,
      maxTokens: 8,
      seed: 4,
      logprobs: 0,
    }).result;
    expect(a.text).toBe(b.text);
    expect(b.logprobs?.map((t) => t.logprob)).toEqual(a.logprobs?.map((t) => t.logprob));
    for (const t of b.logprobs ?? []) expect(t.top).toEqual([]);
    // Not asked: not there, in the result or the pieces.
    const { pieces, result } = await collect(
      engine.generate('The door', { base: BASE, maxTokens: 8, seed: 4 }),
    );
    expect(result).not.toHaveProperty('logprobs');
    for (const p of pieces) expect(p).not.toHaveProperty('logprobs');
  });

  it('refuses more than 20 alternatives', () => {
    expect(() => engine.generate('x', { base: BASE, logprobs: 21 })).toThrow(RangeError);
    expect(() => engine.generate('x', { base: BASE, logprobs: -1 })).toThrow(RangeError);
  });
});

describe('log-probabilities on a token script', () => {
  async function scripted(script: (t: TextTokenizer) => number[], opts = {}) {
    const m = engine.model(BASE);
    const decoder = new ScriptedDecoder(m.decoder.shape, script(m.tokenizer));
    const e = new Engine(
      modelPackageFromParts({ id: 'scripted', config: m.config, tokenizer: m.tokenizer, decoder }),
    );
    return collect(
      e.generate('x', { temperature: 0, maxTokens: 100, logprobs: 3, ...opts, base: 'scripted' }),
    );
  }
  const byteToken = (t: TextTokenizer, b: number) => {
    for (let id = 0; id < t.vocabSize; id++) {
      const bytes = t.tokenBytes(id);
      if (bytes.length === 1 && bytes[0] === b) return id;
    }
    throw new Error(`no token for byte ${b}`);
  };
  const bytesOf = (t: TextTokenizer, s: string) =>
    Array.from(new TextEncoder().encode(s), (b) => byteToken(t, b));

  it('a character split across tokens: \\xHH for its bytes, exact bytes, both at the character’s offset', async () => {
    const { pieces, result } = await scripted((t) => [...bytesOf(t, 'a🙂b'), t.eosId]);
    const lp = result.logprobs as TokenLogprob[];
    expect(result.text).toBe('a🙂b');
    expect(lp.map((t) => t.token)).toEqual(['a', '\\xf0', '\\x9f', '\\x99', '\\x82', 'b']);
    expect(lp.map((t) => t.bytes)).toEqual([[0x61], [0xf0], [0x9f], [0x99], [0x82], [0x62]]);
    expect(lp.map((t) => t.offset)).toEqual([0, 1, 1, 1, 1, 3]);
    // The scripted decoder gives its token logit 10, every other 0: the chosen one is the top alternative.
    for (const t of lp) expect(t.top[0]?.token).toBe(t.token);
    expect(streamed(pieces)).toEqual(lp);
    // The end-of-sequence token was sampled but is not a generated token: not listed.
    expect(lp).toHaveLength(result.completionTokens);
  });

  it('a stop string: tokens with text in the answer are listed, those inside the stop string are not', async () => {
    const { pieces, result } = await scripted(
      (t) => [...bytesOf(t, 'ab'), ...t.encode(' c.'), ...bytesOf(t, 'XYZ!'), t.eosId],
      {
        stop: ['.X'],
      },
    );
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe('ab c');
    const lp = result.logprobs as TokenLogprob[];
    for (const t of lp) expect(t.offset).toBeLessThan(result.text.length);
    expect(lp.map((t) => t.bytes?.map((b) => String.fromCharCode(b)).join('')).join('')).toMatch(/^ab c/);
    expect(lp.length).toBeLessThan(result.completionTokens);
    expect(streamed(pieces)).toEqual(lp);
  });

  it('the bytes of a character cut by max tokens are not listed', async () => {
    const { result } = await scripted((t) => bytesOf(t, 'ab🙂'), { maxTokens: 4 });
    expect(result.text).toBe('ab');
    expect(result.logprobs?.map((t) => t.token)).toEqual(['a', 'b']);
  });

  it('never lists a NUL-carrying token among the alternatives', async () => {
    const nul = engine.model(BASE).tokenizer.nulIds[0];
    if (nul === undefined) return;
    // All other logits tie at 0: the lowest ids are the alternatives, NUL-carrying ones among them skipped.
    const { result } = await scripted((t) => [...bytesOf(t, 'ok'), nul, t.eosId], { logprobs: 20 });
    expect(result.logprobs?.length).toBeGreaterThanOrEqual(2);
    for (const t of result.logprobs ?? [])
      for (const a of t.top) expect(a.bytes?.includes(0) ?? false).toBe(false);
  });
});

describe('tokenText', () => {
  it('decodes whole characters and writes other bytes as \\xHH', () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    expect(tokenText(new TextEncoder().encode(' héllo'))).toBe(' héllo');
    expect(tokenText(b(0xe2, 0x80))).toBe('\\xe2\\x80');
    expect(tokenText(b(0x80, 0x41))).toBe('\\x80A');
    expect(tokenText(b(0xc0, 0xaf))).toBe('\\xc0\\xaf'); // overlong
    expect(tokenText(b(0xed, 0xa0, 0x80))).toBe('\\xed\\xa0\\x80'); // a surrogate
  });
});
