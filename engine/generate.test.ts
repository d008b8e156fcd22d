// The decode loop driven through exact token scripts (a scripted decoder, the real tokenizer): UTF-8
// safety of streamed pieces, stop strings across token boundaries, EOS, and the sliding context window.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BaseModelConfig, decoderShapeFromConfig } from '../core/model/config.js';
import { TextTokenizer } from '../core/model/tokenizer.js';
import { Engine } from './engine.js';
import { modelPackageFromParts } from './model-package.js';
import { ScriptedDecoder } from './testing.js';

const dir = resolve(import.meta.dirname, '../models/brown-4m');
const config = JSON.parse(readFileSync(resolve(dir, 'config.json'), 'utf8')) as BaseModelConfig;
const tokenizer = new TextTokenizer(
  JSON.parse(readFileSync(resolve(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(resolve(dir, 'tokenizer_config.json'), 'utf8')),
);
const shape = decoderShapeFromConfig(config);
const BASE = 'scripted';

const byteToken = new Map<number, number>();
for (let id = 0; id < tokenizer.vocabSize; id++) {
  const b = tokenizer.tokenBytes(id);
  if (b.length === 1 && !byteToken.has(b[0] as number)) byteToken.set(b[0] as number, id);
}

/** One token per UTF-8 byte: every multi-byte character is split across tokens. */
const byteTokens = (s: string) => Array.from(new TextEncoder().encode(s), (b) => byteToken.get(b) as number);

function engineFor(script: number[]) {
  const decoder = new ScriptedDecoder(shape, script);
  const engine = new Engine(modelPackageFromParts({ id: 'scripted', config, tokenizer, decoder }));
  return { engine, decoder };
}

async function run(script: number[], opts: Partial<Parameters<Engine['generate']>[1]> = {}) {
  const { engine, decoder } = engineFor(script);
  const gen = engine.generate('🙂 café', { temperature: 0, maxTokens: 100, ...opts, base: BASE });
  const pieces: string[] = [];
  for await (const p of gen) pieces.push(p.text);
  return { pieces, result: await gen.result, decoder };
}

describe('generation on a token script', () => {
  const text = 'héllo 🙂 wörld ✨ 日本';

  it('streams whole characters only when every byte is its own token', async () => {
    expect(byteToken.size).toBe(256);
    const { pieces, result } = await run([...byteTokens(text), tokenizer.eosId]);
    expect(result.text).toBe(text);
    expect(result.finishReason).toBe('eos');
    expect(result.completionTokens).toBe(new TextEncoder().encode(text).length);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    expect(pieces).toContain('🙂');
  });

  it('drops the bytes of a character cut by max tokens', async () => {
    const script = byteTokens('ab🙂');
    const { pieces, result } = await run(script, { maxTokens: 4 });
    expect(result.finishReason).toBe('length');
    expect(result.text).toBe('ab');
    expect(pieces.join('')).toBe('ab');
  });

  it('a stop string split across tokens stops the text, and its prefix is never streamed', async () => {
    const ids = [
      ...tokenizer.encode('The end is near'),
      ...byteTokens('ar. THE E'),
      ...tokenizer.encode('ND of all'),
    ];
    const { pieces, result } = await run([...ids, tokenizer.eosId], { stop: ['THE END', 'never'] });
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe('The end is nearar. ');
    // Everything streamed is in the final text: no byte of "THE E…" went out before the match.
    expect(pieces.join('')).toBe(result.text);
  });

  it('a stop string made of a multi-byte character', async () => {
    const { result } = await run([...byteTokens('one ✨ two'), tokenizer.eosId], { stop: ['✨'] });
    expect(result).toMatchObject({ text: 'one ', finishReason: 'stop' });
  });

  it('held text that turns out not to be a stop string is released at the end', async () => {
    const { pieces, result } = await run([...tokenizer.encode('see THE EN'), tokenizer.eosId], {
      stop: ['THE END'],
    });
    expect(result).toMatchObject({ text: 'see THE EN', finishReason: 'eos' });
    expect(pieces.join('')).toBe('see THE EN');
  });

  it('never samples a token that carries a NUL byte, greedy or not: no store could keep the text', async () => {
    const nul = byteToken.get(0) as number;
    expect(tokenizer.nulIds).toContain(nul);
    const script = [nul, byteToken.get(97) as number, nul];
    // Greedy: the scripted NUL is the only favoured token; among the rest (all equal) the first id, EOS, wins.
    expect((await run(script, { temperature: 0, maxTokens: 3 })).result).toMatchObject({ text: '' });
    const sampled = (await run(script, { temperature: 1, topK: 0, topP: 1, maxTokens: 3, seed: 7 })).result;
    expect(sampled.completionTokens).toBe(3);
    expect(sampled.text).not.toContain('\0');
  });

  it('EOS as the first token gives an empty text', async () => {
    const { result } = await run([tokenizer.eosId]);
    expect(result).toMatchObject({ text: '', finishReason: 'eos', completionTokens: 0 });
  });

  it('slides the window when the context fills: BOS plus the recent half is prefilled again', async () => {
    const a = byteToken.get(97) as number;
    const { result, decoder } = await run(new Array(300).fill(a), { maxTokens: 300 });
    expect(result).toMatchObject({ finishReason: 'length', completionTokens: 300 });
    expect(result.text).toBe('a'.repeat(300));
    const ctx = config.max_position_embeddings;
    const prefills = decoder.fed.filter((ids) => ids.length > 1);
    expect(prefills.length).toBeGreaterThan(1);
    for (const ids of prefills) {
      expect(ids[0]).toBe(tokenizer.bosId);
      expect(ids.length).toBeLessThanOrEqual(ctx);
    }
    expect(prefills[1]?.length).toBe(ctx / 2);
  });

  it('keeps memory whole after BOS through prompt truncation and every slide', async () => {
    const a = byteToken.get(97) as number;
    const memory = 'Marla kept the lighthouse.\n\n';
    const mem = tokenizer.encode(memory);
    const ctx = config.max_position_embeddings;
    const { engine, decoder } = engineFor(new Array(300).fill(a));
    const gen = engine.generate('word '.repeat(400), { base: BASE, temperature: 0, maxTokens: 300, memory });
    const result = await gen.result;
    expect(result).toMatchObject({ finishReason: 'length', completionTokens: 300, memoryTokens: mem.length });
    expect(result.promptTruncated).toBe(true);
    const prefills = decoder.fed.filter((ids) => ids.length > 1);
    expect(prefills.length).toBeGreaterThan(2);
    for (const ids of prefills) {
      expect(ids.slice(0, 1 + mem.length)).toEqual([tokenizer.bosId, ...mem]);
      expect(ids.length).toBeLessThanOrEqual(ctx);
    }
    // The first prefill leaves room to generate; each slide keeps half of what memory leaves of the window.
    expect(prefills[0]?.length).toBe(ctx - ctx / 2);
    expect(prefills[1]?.length).toBe(1 + mem.length + Math.floor((ctx - 1 - mem.length) / 2));
  });

  it('refuses memory longer than half the context', async () => {
    const { engine } = engineFor([tokenizer.eosId]);
    const gen = engine.generate('x', { base: BASE, memory: 'a '.repeat(config.max_position_embeddings) });
    await expect(gen.result).rejects.toThrow(/memory has \d+ tokens/);
  });
});
