import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MemoryItem } from '../../core/db/memory.js';
import { anyWordQuery } from '../../core/db/memory.js';
import { TextTokenizer } from '../../core/model/tokenizer.js';
import { memoryBudget, packMemory } from './recall.js';

const dir = resolve(import.meta.dirname, '../../models/brown-4m');
const tokenizer = new TextTokenizer(
  JSON.parse(readFileSync(resolve(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(resolve(dir, 'tokenizer_config.json'), 'utf8')),
);
const item = (id: string, text: string, minute: number, rank = 0): MemoryItem => ({
  id,
  text,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, minute)),
  rank,
});

describe('packMemory', () => {
  const a = item('a', 'Marla lit the lamp in the lighthouse and waited for the boats.', 1);
  const b = item('b', 'Old Tobin mended nets on the quay.', 2);
  const c = item('c', 'The fog came in from the sea before dawn, thick and grey.', 3);

  it('takes the best items that fit, lays them out oldest first, and counts their tokens exactly', () => {
    const r = packMemory([c, a, b], tokenizer, 96);
    expect(r.items).toEqual(['a', 'b', 'c']);
    expect(r.text).toBe(`${a.text}\n\n${b.text}\n\n${c.text}\n\n`);
    expect(r.tokens).toBe(tokenizer.encode(r.text).length);
    expect(r.ids).toEqual(tokenizer.encode(r.text)); // what the engine is handed: tokenized once
  });

  it('never goes over the budget: an item that does not fit is skipped, a smaller later one may fit', () => {
    const budget = tokenizer.encode(`${c.text}\n\n${b.text}\n\n`).length;
    const r = packMemory([c, a, b], tokenizer, budget);
    expect(r.items).toEqual(['b', 'c']);
    expect(r.tokens).toBeLessThanOrEqual(budget);
  });

  it('cuts the best item to its last words when it alone is too long', () => {
    const long = item('l', `${'and then the sea rose again '.repeat(30)}until Marla saw the light.`, 4);
    const r = packMemory([long], tokenizer, 24);
    expect(r.items).toEqual(['l']);
    expect(r.tokens).toBeLessThanOrEqual(24);
    expect(r.tokens).toBeGreaterThan(12);
    expect(r.text.endsWith('until Marla saw the light.\n\n')).toBe(true);
  });

  it('recalls nothing from nothing', () => {
    expect(packMemory([], tokenizer, 96)).toEqual({ text: '', items: [], tokens: 0 });
    expect(packMemory([item('e', '   ', 1)], tokenizer, 96).items).toEqual([]);
  });

  it('caps the budget at 3/8 of the context', () => {
    expect(memoryBudget(96, 256)).toBe(96);
    expect(memoryBudget(500, 256)).toBe(96);
    expect(memoryBudget(40, 256)).toBe(40);
  });
});

describe('anyWordQuery', () => {
  it('keeps letters and digits only, each word once, joined as alternatives', () => {
    expect(anyWordQuery("Marla's lamp: 'lit' & (the) lamp!")).toBe('marla | s | lamp | lit | the');
    expect(anyWordQuery('!!! ... ')).toBe('');
    expect(anyWordQuery('café 42')).toBe('café | 42');
    expect(anyWordQuery('a b c d', 2)).toBe('a | b');
  });
});
