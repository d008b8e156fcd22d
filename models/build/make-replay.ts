// Writes models/<name>/replay.bin: windows of the base model's own TRAINING text, as token ids (uint16 LE,
// `windows × length`), recorded in config.json → tailor.replay. The worker mixes a few into every user's
// adapter training so a personal adapter learns the user's story without forgetting general English (measured:
// gpu-worker/trainer/experiments/personalize.py --general). Deterministic; never reads a held-out file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer, type TokenizerJson } from '../../core/model/tokenizer.js';
import { readBrown } from '../../core/node/brown.js';
import { buildReplay } from '../../core/node/replay.js';
import { splitCorpus } from './corpus.js';

const NAME = process.argv[2] ?? 'brown-4m';
const WINDOWS = 512;
const LENGTH = 96;
const dir = join(import.meta.dirname, '..', NAME);
const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const tokenizer = new TextTokenizer(read('tokenizer.json') as TokenizerJson, read('tokenizer_config.json'));
const docs = readBrown();
const train = new Set(splitCorpus(docs).train);
const { bytes, meta } = buildReplay(tokenizer, train, { windows: WINDOWS, length: LENGTH, docs });
const texts = docs.filter((d) => train.has(d.file));
writeFileSync(join(dir, 'replay.bin'), bytes);
const config = read('config.json');
config.tailor.replay = meta;
writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
console.log(
  `wrote ${join(dir, 'replay.bin')}: ${WINDOWS} windows × ${LENGTH} tokens from ${texts.length} training files`,
);
