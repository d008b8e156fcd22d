// Encodes every Brown doc (train and held-out) with the runtime TextTokenizer and writes
// data/brown/tokens.bin (uint16 LE, docs concatenated, no separators) and data/brown/index.json.
// Usage: npm run build:shards (after build:tokenizer).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TextTokenizer, type TokenizerJson } from '../../core/model/tokenizer.js';
import { readBrown } from '../../core/node/brown.js';
import { splitCorpus } from './corpus.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOKENIZER_DIR = join(ROOT, 'models', 'brown-4m');
export const SHARD_DIR = join(ROOT, 'data', 'brown');

export function loadTokenizer(dir = TOKENIZER_DIR): TextTokenizer {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return new TextTokenizer(json, config);
}

export interface ShardDoc {
  file: string;
  genre: string;
  split: 'train' | 'heldout';
  start: number;
  length: number;
}

function main(): void {
  const t0 = performance.now();
  const tok = loadTokenizer();
  const docs = readBrown();
  const held = new Set(splitCorpus(docs).heldout);
  const parts: Uint16Array[] = [];
  const index: ShardDoc[] = [];
  let pos = 0;
  const perSplit = { train: { docs: 0, tokens: 0 }, heldout: { docs: 0, tokens: 0 } };
  for (const d of docs) {
    const ids = tok.encode(d.text);
    for (const id of ids) {
      if (id < 0 || id >= tok.vocabSize || id > 0xffff) throw new Error(`bad id ${id} in ${d.file}`);
    }
    const split = held.has(d.file) ? 'heldout' : 'train';
    parts.push(Uint16Array.from(ids));
    index.push({ file: d.file, genre: d.genre, split, start: pos, length: ids.length });
    pos += ids.length;
    perSplit[split].docs++;
    perSplit[split].tokens += ids.length;
  }
  const bytes = new Uint8Array(pos * 2);
  const view = new DataView(bytes.buffer);
  let off = 0;
  for (const p of parts) {
    for (const id of p) {
      view.setUint16(off, id, true);
      off += 2;
    }
  }
  mkdirSync(SHARD_DIR, { recursive: true });
  writeFileSync(join(SHARD_DIR, 'tokens.bin'), bytes);
  const indexJson = { vocab_size: tok.vocabSize, bos_id: tok.bosId, docs: index };
  writeFileSync(join(SHARD_DIR, 'index.json'), `${JSON.stringify(indexJson, null, 1)}\n`);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`encoded ${docs.length} docs, ${pos} tokens in ${secs} s → ${SHARD_DIR}`);
  for (const [name, s] of Object.entries(perSplit))
    console.log(`  ${name}: ${s.docs} docs, ${s.tokens} tokens`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
