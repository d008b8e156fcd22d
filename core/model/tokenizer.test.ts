import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBrown } from '../node/brown.js';
import { mulberry32 } from '../util/rng.js';
import { TextTokenizer, type TokenizerJson, Utf8StreamDecoder } from './tokenizer.js';

const DIR = new URL('../../models/brown-4m/', import.meta.url);
const json = JSON.parse(readFileSync(new URL('tokenizer.json', DIR), 'utf8')) as TokenizerJson & {
  pre_tokenizer: unknown;
};
const config = JSON.parse(readFileSync(new URL('tokenizer_config.json', DIR), 'utf8')) as Record<
  string,
  unknown
>;
const tok = new TextTokenizer(json, config);
const utf8 = new TextEncoder();

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Full round-trip check: ids in range, decode, token bytes, streaming decode. */
function checkRoundTrip(text: string): void {
  const ids = tok.encode(text);
  for (const id of ids) {
    expect(Number.isInteger(id) && id >= 0 && id < 4096).toBe(true);
  }
  expect(tok.decode(ids)).toBe(text);
  expect(concatBytes(ids.map((id) => tok.tokenBytes(id)))).toEqual(utf8.encode(text));
  const stream = new Utf8StreamDecoder();
  let out = '';
  for (const id of ids) {
    const piece = stream.push(tok.tokenBytes(id));
    expect(piece).not.toContain('\uFFFD');
    out += piece;
  }
  out += stream.flush();
  expect(out).toBe(text);
}

function randomCodePoint(rand: () => number): number {
  const r = rand();
  let cp: number;
  if (r < 0.3) cp = 0x20 + Math.floor(rand() * 0x5f);
  else if (r < 0.4) cp = [0x09, 0x0a, 0x0d, 0x20, 0xa0, 0x3000][Math.floor(rand() * 6)] as number;
  else if (r < 0.7) cp = Math.floor(rand() * 0x10000);
  else cp = 0x10000 + Math.floor(rand() * 0x100000);
  // No unpaired surrogates: remap the surrogate block.
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x4e00 + (cp - 0xd800);
  return cp;
}

describe('tokenizer.json', () => {
  it('has exactly 4096 tokens with the special token at 0 and all 256 byte symbols', () => {
    expect(tok.vocabSize).toBe(4096);
    expect(tok.bosId).toBe(0);
    expect(tok.eosId).toBe(0);
    expect(json.added_tokens).toEqual([
      {
        id: 0,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ]);
    const ids = new Set(Object.values(json.model.vocab));
    expect(ids.size).toBe(4096);
    for (let b = 0; b < 256; b++) {
      expect(tok.tokenBytes(b + 1)).toEqual(new Uint8Array([b]));
    }
    expect(tok.tokenBytes(0)).toEqual(new Uint8Array(0));
    expect(json.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
  });

  it('config keeps spaces as they are and adds no special tokens', () => {
    expect(config.clean_up_tokenization_spaces).toBe(false);
    expect(config.add_bos_token).toBe(false);
    expect(config.add_eos_token).toBe(false);
    expect(config.eos_token).toBe('<|endoftext|>');
    expect(tok.encode('Hello')).not.toContain(0);
  });
});

describe('TextTokenizer round-trips', () => {
  let docs: ReturnType<typeof readBrown>;
  beforeAll(() => {
    docs = readBrown();
  });

  it('every Brown doc (all 500)', () => {
    expect(docs.length).toBe(500);
    for (const d of docs) {
      const ids = tok.encode(d.text);
      expect(ids.length).toBeGreaterThan(0);
      expect(tok.decode(ids), d.file).toBe(d.text);
    }
  });

  it('token bytes and the streaming decoder on Brown docs', () => {
    for (const d of docs.slice(0, 25)) checkRoundTrip(d.text);
  });

  it.each([
    ['empty', ''],
    ['emoji', 'I ❤️ 🦀 and 🐍!'],
    ['ZWJ emoji', 'family: 👨‍👩‍👧‍👦, pilot: 🧑🏽‍✈️, rainbow flag 🏳️‍🌈'],
    ['flags', '🇺🇸🇬🇧🇯🇵🇩🇪 flags'],
    ['CJK', '日本語のテキスト、中文文本，한국어 텍스트。'],
    ['Arabic', 'مرحبا بالعالم، هذا نص عربي.'],
    ['combining marks', 'e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353\u0354 q\u0307\u0323'],
    ['no spaces', 'Thequickbrownfoxjumpedoverthelazydog,again&again;42x3.14!'],
    ['whitespace runs', '  \t\t  a\n\n\n\n   b \r\n\t \u00a0 \u3000 c      \n'],
    ['only newlines', '\n\n\n\n\n\n\n'],
    ['BOM and controls', '\uFEFFstart\u0000\u0001\u007f\u200b\u200d end'],
    ['contractions', "I'm sure you'd've said 'no' -- didn't you? THEY'LL"],
    ['special token text', 'before <|endoftext|> after'],
    ['long', 'word '.repeat(2000)],
  ])('%s', (_name, text) => {
    if (text.includes('<|endoftext|>')) {
      // A literal special token in the text maps to its id (HF behaviour); bytes skip it.
      const ids = tok.encode(text);
      expect(ids).toContain(0);
      expect(tok.decode(ids)).toBe(text);
      return;
    }
    checkRoundTrip(text);
  });

  it('random strings of random code points (seeded)', () => {
    const rand = mulberry32(20240601);
    for (let n = 0; n < 300; n++) {
      const len = 1 + Math.floor(rand() * 40);
      const cps: number[] = [];
      for (let i = 0; i < len; i++) cps.push(randomCodePoint(rand));
      checkRoundTrip(String.fromCodePoint(...cps));
    }
  });

  it('decode of an empty list is empty; out-of-range ids throw', () => {
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([4096])).toThrow(RangeError);
    expect(() => tok.tokenBytes(-1)).toThrow(RangeError);
  });
});

describe('Utf8StreamDecoder', () => {
  it('holds a character split across pushes', () => {
    const bytes = utf8.encode('a€😀');
    const d = new Utf8StreamDecoder();
    const out: string[] = [];
    for (const b of bytes) out.push(d.push(new Uint8Array([b])));
    out.push(d.flush());
    expect(out.join('')).toBe('a€😀');
    expect(out.filter((s) => s.length > 0)).toEqual(['a', '€', '😀']);
  });
});

describe('SentencePiece-style tokenizer.json (Llama 2, TinyLlama, Mistral: BPE with byte fallback)', () => {
  // Written by tests/tiny_checkpoints.py (gpu-worker/trainer) for the llama2-sentencepiece checkpoint: <unk> <s>
  // </s>, the byte tokens <0x00>..<0xFF>, then merges over ▁-joined words; Metaspace, prepend_scheme "first".
  const FIXTURES = new URL('./fixtures/', import.meta.url);
  const spJson = JSON.parse(
    readFileSync(new URL('sentencepiece-tokenizer.json', FIXTURES), 'utf8'),
  ) as TokenizerJson;
  const spConfig = JSON.parse(readFileSync(new URL('mistral/tokenizer_config.json', FIXTURES), 'utf8'));
  const sp = new TextTokenizer(spJson, spConfig);
  const idOf = (token: string) => spJson.model.vocab[token] as number;
  const bytesOf = (ids: number[]) => concatBytes(ids.map((id) => sp.tokenBytes(id)));

  it('reads each token as bytes: <0xNN> is the byte NN, ▁ a space, specials nothing', () => {
    expect(sp.style).toBe('sentencepiece');
    expect(tok.style).toBe('byte-level');
    expect([sp.vocabSize, sp.bosId, sp.eosId]).toEqual([512, 1, 2]);
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      expect(sp.tokenBytes(idOf(`<0x${hex}>`))).toEqual(new Uint8Array([b]));
    }
    expect(sp.tokenBytes(idOf('▁'))).toEqual(utf8.encode(' '));
    expect(sp.tokenBytes(idOf('\n'))).toEqual(utf8.encode('\n'));
    const word = Object.keys(spJson.model.vocab).find((t) => /^▁[^▁]{2,}$/.test(t)) as string;
    expect(sp.tokenBytes(idOf(word))).toEqual(utf8.encode(` ${word.slice(1)}`));
    for (const special of [0, 1, 2]) expect(sp.tokenBytes(special)).toEqual(new Uint8Array(0));
    expect(sp.nulIds).toEqual([idOf('<0x00>')]);
  });

  it('encode("Hello world\\n"): the ids tokenizers (Python) gives, bytes " Hello world\\n", decode the text', () => {
    const ids = sp.encode('Hello world\n');
    // tokenizers.Tokenizer.from_file(...).encode('Hello world\n', add_special_tokens=False).ids
    expect(ids).toEqual([370, 299, 328, 335, 438, 370, 346, 392, 335, 327, 259]);
    // The leading space is Metaspace's prepended ▁; the decoder's Strip takes it off again.
    expect(new TextDecoder().decode(bytesOf(ids))).toBe(' Hello world\n');
    expect(sp.decode(ids)).toBe('Hello world\n');
    // As tokenizers (Python) decodes it: Strip takes one character off the first token only, here <s>.
    expect(sp.decode([1, ...ids, 2])).toBe('<s> Hello world\n</s>');
    expect(sp.decode([1, ...ids, 2], { skipSpecial: true })).toBe('Hello world\n');
  });

  it('characters outside the vocabulary fall back to bytes, streamed back whole', () => {
    const text = 'héllo 🦀 <0x41> 日本';
    const ids = sp.encode(text);
    expect(ids).toContain(idOf('<0xF0>'));
    expect(bytesOf(ids)).toEqual(utf8.encode(` ${text}`));
    expect(sp.decode(ids)).toBe(text);
    const stream = new Utf8StreamDecoder();
    let out = '';
    for (const id of ids) {
      const piece = stream.push(sp.tokenBytes(id));
      expect(piece).not.toContain('\uFFFD');
      out += piece;
    }
    expect(out + stream.flush()).toBe(` ${text}`);
  });

  it('random strings (seeded): bytes are the text with ▁ prepended as a space; decode strips it', () => {
    const rand = mulberry32(20261208);
    for (let n = 0; n < 300; n++) {
      const len = 1 + Math.floor(rand() * 30);
      const cps: number[] = [];
      for (let i = 0; i < len; i++) {
        const cp = randomCodePoint(rand);
        cps.push(cp === 0x2581 ? 0x41 : cp); // a literal ▁ reads back as a space: SentencePiece's own loss
      }
      const text = String.fromCodePoint(...cps);
      const ids = sp.encode(text);
      for (const id of ids) expect(id >= 0 && id < 512).toBe(true);
      const spaced = text.startsWith(' ') ? text : ` ${text}`;
      expect(bytesOf(ids), JSON.stringify(text)).toEqual(utf8.encode(spaced));
      expect(sp.decode(ids), JSON.stringify(text)).toBe(spaced.slice(1));
    }
  });
});
