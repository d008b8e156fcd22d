// Writes models/<name>/replay.bin: windows of the base model's own TRAINING text, as token ids (uint16 LE,
// `windows × length`), recorded in config.json → tailor.replay. The worker mixes a few into every user's
// adapter training so a personal adapter learns the user's story without forgetting general English (measured:
// gpu-worker/trainer/experiments/personalize.py --general). Deterministic; never reads a held-out file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer, type TokenizerJson } from '../../core/model/tokenizer.js';
import { readBrown } from '../../core/node/brown.js';
import { splitCorpus } from './corpus.js';

const NAME = process.argv[2] ?? 'brown-4m';
const WINDOWS = 512;
const LENGTH = 96;
const dir = join(import.meta.dirname, '..', NAME);
const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const tokenizer = new TextTokenizer(read('tokenizer.json') as TokenizerJson, read('tokenizer_config.json'));
const docs = readBrown();
const train = new Set(splitCorpus(docs).train);
const texts = docs.filter((d) => train.has(d.file));

// Evenly spread over the training files, one window from each in turn at a position stepping through it.
const ids = texts.map((d) => tokenizer.encode(d.text));
const out = new Uint16Array(WINDOWS * LENGTH);
for (let w = 0; w < WINDOWS; w++) {
  const doc = ids[(w * 7919) % ids.length] as number[];
  const room = doc.length - LENGTH;
  const at = room > 0 ? Math.floor(((w * 0.6180339887) % 1) * room) : 0;
  out.set(doc.slice(at, at + LENGTH), w * LENGTH);
}
writeFileSync(join(dir, 'replay.bin'), new Uint8Array(out.buffer));
const config = read('config.json');
config.tailor.replay = {
  file: 'replay.bin',
  windows: WINDOWS,
  length: LENGTH,
  dtype: 'uint16',
  split: 'train',
};
writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(
  `wrote ${join(dir, 'replay.bin')}: ${WINDOWS} windows × ${LENGTH} tokens from ${texts.length} training files`,
);
