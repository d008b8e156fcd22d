// The Brown text an import needs, made in a process of its own (reading the corpus and tokenizing 433 files
// with the new base's tokenizer takes seconds of CPU: never on the API's event loop). Usage:
//   tsx gpu-worker/import-texts.ts <checkpoint dir> <out dir>
// writes <out>/sample.json (the first 1,500 characters of the first held-out file of each genre: bits per
// byte) and <out>/replay.bin + <out>/replay.json (core/node/replay.ts, in the checkpoint's own tokens).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer, type TokenizerJson } from '../core/model/tokenizer.js';
import { readBrown, recordedSplit } from '../core/node/brown.js';
import { buildReplay } from '../core/node/replay.js';

/** Characters of each genre's first held-out file: a fixed sample, so import stays minutes on a 135 M base. */
const SAMPLE_CHARS = 1500;

const [src, out] = process.argv.slice(2);
if (!src || !out) throw new Error('usage: import-texts.ts <checkpoint dir> <out dir>');
const docs = readBrown();
const split = recordedSplit();
const heldout = new Set(split.heldout);
const sample: Record<string, string[]> = {};
for (const doc of docs) {
  if (!heldout.has(doc.file) || sample[doc.genre]) continue;
  sample[doc.genre] = [doc.text.slice(0, SAMPLE_CHARS)];
}
writeFileSync(join(out, 'sample.json'), JSON.stringify(sample));
const json = (name: string) => JSON.parse(readFileSync(join(src, name), 'utf8'));
const tokenizer = new TextTokenizer(
  json('tokenizer.json') as TokenizerJson,
  existsSync(join(src, 'tokenizer_config.json')) ? json('tokenizer_config.json') : {},
);
const { bytes, meta } = buildReplay(tokenizer, new Set(split.train), { docs });
writeFileSync(join(out, 'replay.bin'), bytes);
writeFileSync(join(out, 'replay.json'), JSON.stringify(meta));
