import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  detokenizeFile,
  detokenizeTaggedLine,
  FICTION_GENRES,
  readBrown,
  readCategories,
} from '../../core/node/brown.js';
import { countWords, trainBpe } from './bpe.js';
import { splitCorpus, splitManifest } from './corpus.js';
import { tokenizerTrainingDocs } from './train-tokenizer.js';

const cats = readCategories();
const catDocs = [...cats].map(([file, genre]) => ({ file, genre }));

describe('Brown split', () => {
  it('is deterministic and independent of input order', () => {
    const a = splitCorpus(catDocs);
    const b = splitCorpus([...catDocs].reverse());
    expect(b).toEqual(a);
    expect(a.train.length + a.heldout.length).toBe(500);
  });

  it('holds out ceil(20%) of each fiction genre and ceil(10%) of the others, disjointly', () => {
    const { train, heldout } = splitCorpus(catDocs);
    const trainSet = new Set(train);
    for (const f of heldout) expect(trainSet.has(f)).toBe(false);
    const m = splitManifest(catDocs);
    for (const [genre, g] of Object.entries(m.genres)) {
      const fiction = (FICTION_GENRES as readonly string[]).includes(genre);
      expect(g.heldout, genre).toBe(Math.ceil((fiction ? 0.2 : 0.1) * g.files - 1e-9));
      if (fiction) expect(g.heldout / g.files).toBeGreaterThanOrEqual(0.2);
    }
    expect(m.genres.science_fiction).toEqual({ files: 6, heldout: 2 });
  });
});

describe('detokenizer', () => {
  it('strips tags and restores spacing', () => {
    expect(
      detokenizeTaggedLine(
        'Dan/np Morgan/np told/vbd himself/ppl he/pps would/md forget/vb Ann/np Turner/np ./.',
      ),
    ).toBe('Dan Morgan told himself he would forget Ann Turner.');
    expect(
      detokenizeTaggedLine(
        "``/`` Only/rb a/at relative/jj handful/nn ''/'' ,/, the/at jury/nn said/vbd ,/, ``/`` (/( considering/in )/) ''/'' ;/. didn't/dod* he/pps ?/.",
      ),
    ).toBe('"Only a relative handful", the jury said, "(considering)"; didn\'t he?');
    expect(detokenizeTaggedLine("he/pps said/vbd '/' no/rb '/' ./. counts/nns //in minute/nn")).toBe(
      "he said 'no'. counts / minute",
    );
    expect(detokenizeTaggedLine('Mr./np Allen/np Jr./np ./.')).toBe('Mr. Allen Jr.');
  });

  it('joins sentences with a space and paragraphs with a blank line', () => {
    const raw = "\n\n\tA/at b/nn ./.\n\tC/at d/nn ./.\n\n\n\tE/at ``/`` f/nn ./.\n\t''/'' G/at ./.\n";
    expect(detokenizeFile(raw)).toBe('A b. C d.\n\nE "f." G.');
  });
});

describe('tokenizer training data', () => {
  it('selects only train files, never a held-out one', () => {
    const docs = readBrown();
    const { heldout, train } = splitCorpus(docs);
    const chosen = tokenizerTrainingDocs(docs).map((d) => d.file);
    expect(chosen).toEqual([...train].sort());
    for (const f of heldout) expect(chosen).not.toContain(f);
  });

  it('the committed tokenizer records that it was trained on exactly the train split', () => {
    const rec = JSON.parse(
      readFileSync(new URL('../brown-4m/tokenizer_training.json', import.meta.url), 'utf8'),
    );
    const { train, heldout } = splitCorpus(catDocs);
    expect(rec.trained_on).toEqual(train);
    for (const f of heldout) expect(rec.trained_on).not.toContain(f);
    const tokJson = readFileSync(new URL('../brown-4m/tokenizer.json', import.meta.url));
    expect(createHash('sha256').update(tokJson).digest('hex')).toBe(rec.tokenizer_json_sha256);
  });
});

describe('BPE trainer', () => {
  it('is deterministic, fills the vocab and keeps every byte symbol', () => {
    const counts = countWords(['the cat sat on the mat. the cat ate the rat, then the cat sat.']);
    const a = trainBpe(counts, { vocabSize: 257 + 12 });
    const b = trainBpe(new Map([...counts].reverse()), { vocabSize: 257 + 12 });
    expect(b).toEqual(a);
    expect(a.vocab.length).toBe(269);
    expect(a.vocab[0]).toBe('<|endoftext|>');
    expect(new Set(a.vocab.slice(1, 257)).size).toBe(256);
    expect(a.merges[0]).toBe('a t'); // 'at' occurs 8 times, more than any other pair
  });
});
