// Trains the 4096-token byte-level BPE on the Brown TRAIN split only and writes
// models/brown-4m/tokenizer.json (HF tokenizers format), tokenizer_config.json and
// tokenizer_training.json (which files it read). Usage: npm run build:tokenizer
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrownDoc, readBrown } from '../../core/node/brown.js';
import { type BpeModel, countWords, END_OF_TEXT, trainBpe } from './bpe.js';
import { splitCorpus, splitManifest } from './corpus.js';

export const VOCAB_SIZE = 4096;
export const MODEL_MAX_LENGTH = 256;
export const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'brown-4m');

/** The documents the tokenizer is trained on: the train split, never a held-out file. */
export function tokenizerTrainingDocs(docs: BrownDoc[]): BrownDoc[] {
  const train = new Set(splitCorpus(docs).train);
  return docs.filter((d) => train.has(d.file)).sort((a, b) => (a.file < b.file ? -1 : 1));
}

export function tokenizerJson(model: BpeModel): string {
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        content: END_OF_TEXT,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: '__VOCAB__',
      merges: model.merges,
    },
  };
  // Serialize the vocab by hand so it is written in id order (JS objects put integer-like keys first).
  const vocabLines = model.vocab.map((t, i) => `      ${JSON.stringify(t)}: ${i}`);
  const vocabText = `{\n${vocabLines.join(',\n')}\n    }`;
  return `${JSON.stringify(doc, null, 2).replace('"__VOCAB__"', () => vocabText)}\n`;
}

export const TOKENIZER_CONFIG = {
  tokenizer_class: 'PreTrainedTokenizerFast',
  bos_token: END_OF_TEXT,
  eos_token: END_OF_TEXT,
  pad_token: END_OF_TEXT,
  unk_token: null,
  clean_up_tokenization_spaces: false,
  model_max_length: MODEL_MAX_LENGTH,
  add_bos_token: false,
  add_eos_token: false,
};

function main(): void {
  const t0 = performance.now();
  const docs = readBrown();
  const trainDocs = tokenizerTrainingDocs(docs);
  const held = new Set(splitCorpus(docs).heldout);
  if (trainDocs.some((d) => held.has(d.file))) throw new Error('held-out file in tokenizer training set');
  const t1 = performance.now();
  const counts = countWords(trainDocs.map((d) => d.text));
  const t2 = performance.now();
  console.log(
    `read ${docs.length} docs (${(t1 - t0).toFixed(0)} ms); training on ${trainDocs.length} train docs, ` +
      `${counts.size} unique pre-tokens (${(t2 - t1).toFixed(0)} ms)`,
  );
  const model = trainBpe(counts, {
    vocabSize: VOCAB_SIZE,
    progressEvery: 256,
    onProgress: (m, v, p) =>
      console.log(
        `  merges ${m}  vocab ${v}  live pairs ${p}  ${((performance.now() - t2) / 1000).toFixed(1)} s`,
      ),
  });
  const t3 = performance.now();
  console.log(
    `BPE: ${model.merges.length} merges, vocab ${model.vocab.length} in ${((t3 - t2) / 1000).toFixed(2)} s`,
  );

  mkdirSync(OUT_DIR, { recursive: true });
  const json = tokenizerJson(model);
  writeFileSync(join(OUT_DIR, 'tokenizer.json'), json);
  writeFileSync(join(OUT_DIR, 'tokenizer_config.json'), `${JSON.stringify(TOKENIZER_CONFIG, null, 2)}\n`);
  const trainingText = createHash('sha256');
  for (const d of trainDocs) trainingText.update(`${d.file}\n${d.text}\n`);
  const record = {
    vocab_size: VOCAB_SIZE,
    merges: model.merges.length,
    trained_on: trainDocs.map((d) => d.file),
    training_text_sha256: trainingText.digest('hex'),
    tokenizer_json_sha256: createHash('sha256').update(json).digest('hex'),
    split: splitManifest(docs),
  };
  writeFileSync(join(OUT_DIR, 'tokenizer_training.json'), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${OUT_DIR}/tokenizer.json (sha256 ${record.tokenizer_json_sha256.slice(0, 16)}…)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
