// The one runtime text encoder. Web APIs only (no `node:` imports): runs in Node, browsers and
// Cloudflare workerd. Wraps @huggingface/tokenizers over models/brown-4m/tokenizer.json (byte-level BPE) or an
// imported checkpoint's SentencePiece-style tokenizer.json (Llama 2, TinyLlama, Mistral: BPE with byte fallback).
import { Tokenizer } from '@huggingface/tokenizers';
import { type TokenizerStyle, tokenizerStyle } from './hf-checkpoint.js';

/** The parts of a HF tokenizer.json this module relies on. */
export interface TokenizerJson {
  added_tokens: { id: number; content: string; special?: boolean }[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  [key: string]: unknown;
}

export type TokenizerConfig = Record<string, unknown>;

/** GPT-2's bytes_to_unicode: byte value → the printable character that stands for it in a byte-level vocabulary. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => {
    table[b] = String.fromCharCode(cs[i] as number);
  });
  return table;
}

/** The inverse: byte-level symbol → byte value. */
function unicodeToBytes(): Map<string, number> {
  return new Map(bytesToUnicode().map((ch, b) => [ch, b]));
}

const EMPTY = new Uint8Array(0);
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** A SentencePiece-style token's bytes: `<0xNN>` is the byte NN; any other is its text with `▁` as a space. */
function sentencePieceBytes(token: string, utf8: TextEncoder): Uint8Array {
  const m = BYTE_TOKEN.exec(token);
  if (m) return new Uint8Array([Number.parseInt(m[1] as string, 16)]);
  return utf8.encode(token.replaceAll('\u2581', ' '));
}

/** A special token's text in tokenizer_config.json: a string or an AddedToken object's content. */
function specialTokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

export class TextTokenizer {
  readonly vocabSize: number;
  /**
   * How token strings map to bytes: byte-level (each character one byte, GPT-2's table) or SentencePiece-style
   * (`▁` is a space, `<0xNN>` a single byte). A SentencePiece tokenizer prepends `▁` to the text, so the bytes
   * of an encoding start with a space that decode (which strips it) does not return.
   */
  readonly style: TokenizerStyle;
  readonly bosId: number;
  readonly eosId: number;
  /** The base's chat template (tokenizer_config.json `chat_template`; the default of a named list), if any. */
  readonly chatTemplate: string | undefined;
  /** The texts of the special tokens a chat template names (`bos_token`, `eos_token`). */
  readonly specialTokens: { bos_token: string; eos_token: string };
  /**
   * Ids of the tokens whose bytes hold a NUL (byte 0x00). No text store takes one (PostgreSQL refuses it in
   * text and jsonb) and no reader wants one, so generation never samples them.
   */
  readonly nulIds: readonly number[];
  private readonly tok: Tokenizer;
  private readonly bytesById: Uint8Array[];
  private readonly specialIds: Set<number>;

  constructor(json: TokenizerJson, config: TokenizerConfig = {}) {
    // Never let the library "clean up" spaces (it would break exact round-trips).
    const cfg = { ...config, clean_up_tokenization_spaces: false };
    this.tok = new Tokenizer(json, cfg);
    const byteOf = unicodeToBytes();
    const strings: string[] = [];
    for (const [t, id] of Object.entries(json.model.vocab)) strings[id] = t;
    this.specialIds = new Set();
    for (const a of json.added_tokens) {
      strings[a.id] = a.content;
      if (a.special !== false) this.specialIds.add(a.id);
    }
    this.vocabSize = strings.length;
    this.style = tokenizerStyle(json) === 'sentencepiece' ? 'sentencepiece' : 'byte-level';
    const utf8 = new TextEncoder();
    this.bytesById = [];
    for (let id = 0; id < strings.length; id++) {
      const s = strings[id];
      if (s === undefined) throw new Error(`tokenizer.json: no token with id ${id}`);
      if (this.specialIds.has(id)) {
        this.bytesById.push(EMPTY);
        continue;
      }
      if (this.style === 'sentencepiece') {
        this.bytesById.push(sentencePieceBytes(s, utf8));
        continue;
      }
      const bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const b = byteOf.get(s[i] as string);
        if (b === undefined)
          throw new Error(`tokenizer.json: token ${id} is not byte-level: ${JSON.stringify(s)}`);
        bytes[i] = b;
      }
      this.bytesById.push(bytes);
    }
    this.nulIds = this.bytesById.flatMap((b, id) => (b.includes(0) ? [id] : []));
    const eos = specialTokenText(config.eos_token) ?? '<|endoftext|>';
    const bos = specialTokenText(config.bos_token) ?? eos;
    this.eosId = this.idOf(eos);
    // The token every sequence starts with: the BOS when the base adds one; otherwise its EOS, the separator
    // such bases saw between documents (Qwen2's <|endoftext|>; the trainer starts its rows the same way).
    this.bosId = config.add_bos_token === false ? this.eosId : this.idOf(bos);
    this.specialTokens = { bos_token: bos, eos_token: eos };
    this.chatTemplate = chatTemplateOf(config.chat_template);
  }

  private idOf(token: string): number {
    const id = this.tok.token_to_id(token);
    if (id === undefined) throw new Error(`tokenizer: unknown token ${token}`);
    return id;
  }

  /** Token ids for `text`; no special tokens are added (a literal `<|endoftext|>` still maps to its id). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text for `ids`. Special tokens are rendered as their text unless `skipSpecial`. */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new RangeError(`token id out of range: ${id}`);
    }
    if (ids.length === 0) return '';
    return this.tok.decode([...ids], {
      skip_special_tokens: opts.skipSpecial ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Raw UTF-8 bytes of one token (may be part of a character); special tokens → empty. */
  tokenBytes(id: number): Uint8Array {
    const b = this.bytesById[id];
    if (b === undefined) throw new RangeError(`token id out of range: ${id}`);
    return b;
  }

  /** Loads tokenizer.json (+ tokenizer_config.json) from URLs, e.g. static assets. */
  static async fromUrls(tokenizerUrl: string | URL, configUrl?: string | URL): Promise<TextTokenizer> {
    const json = (await (await fetch(tokenizerUrl)).json()) as TokenizerJson;
    const config = configUrl ? ((await (await fetch(configUrl)).json()) as TokenizerConfig) : {};
    return new TextTokenizer(json, config);
  }
}

/**
 * Incremental UTF-8 decoder for streaming generation: push each token's bytes, get back only the
 * complete characters so far (a character split across tokens is held until it completes).
 */
export class Utf8StreamDecoder {
  private decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  push(bytes: Uint8Array): string {
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Ends the stream: returns any held bytes (as U+FFFD if incomplete) and resets. */
  flush(): string {
    return this.decoder.decode();
  }
}

/** A tokenizer_config.json `chat_template`: a string, or a list of `{name, template}` (the one named default). */
function chatTemplateOf(raw: unknown): string | undefined {
  if (typeof raw === 'string' && raw.length > 0) return raw;
  if (Array.isArray(raw)) {
    const named = raw.find((t) => (t as { name?: unknown })?.name === 'default') as
      | { template?: unknown }
      | undefined;
    return typeof named?.template === 'string' ? named.template : undefined;
  }
  return undefined;
}
