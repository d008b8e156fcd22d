import { describe, expect, it } from 'vitest';
import { bucketOf, buildUserDataset, type FeedbackItem, replayExamples, splitKey } from './dataset.js';

const encoder = { encode: (t: string) => Array.from(t, (ch) => ch.charCodeAt(0) % 4096) };
const item = (id: string, over: Partial<FeedbackItem> = {}): FeedbackItem => ({
  id,
  prompt: 'P',
  text: 'liked text',
  rating: 1,
  editedText: null,
  ...over,
});

describe('buildUserDataset', () => {
  it('turns likes and edits into examples, edits weighted higher, dislikes kept apart for unlikelihood', () => {
    const d = buildUserDataset(
      [item('a'), item('b', { rating: -1 }), item('c', { rating: -1, editedText: 'fixed' })],
      encoder,
    );
    expect(d.counts).toEqual({ likes: 1, edits: 1, dislikes: 1, examples: 2 });
    const all = [...d.train, ...d.heldout];
    expect(all.map((e) => e.weight).sort()).toEqual([1, 2]);
    expect(all.find((e) => e.weight === 2)?.completion).toEqual(encoder.encode('fixed'));
    expect(all.every((e) => e.prompt.length === 1)).toBe(true);
    // The dislike without an edit is neither trained on nor held out: listed apart, as prompt → text.
    expect(d.dislikes).toEqual([
      { prompt: encoder.encode('P'), completion: encoder.encode('liked text'), weight: 1 },
    ]);
  });

  it('splits deterministically by content, and an item keeps its side as feedback grows', () => {
    const items = Array.from({ length: 200 }, (_, i) => item(`fb_${i}`, { text: `passage ${i}` }));
    const d1 = buildUserDataset(items.slice(0, 100), encoder);
    const d2 = buildUserDataset(items, encoder);
    expect(d1.heldout.length).toBeGreaterThan(5);
    expect(d1.heldout.length).toBeLessThan(40);
    const held = (ids: FeedbackItem[]) => ids.filter((f) => bucketOf(splitKey(f.prompt, f.text)) < 20).length;
    expect(d2.heldout.length).toBe(held(items));
    expect(buildUserDataset(items.slice(0, 100), encoder)).toEqual(d1);
  });

  it('puts copies of one passage on the same side, whatever their ids', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(`fb_${i}`, { text: `passage ${i % 20}` }));
    const d = buildUserDataset(items, encoder);
    const key = (e: { completion: number[] }) => e.completion.join(',');
    const trained = new Set(d.train.map(key));
    expect(d.heldout.length).toBeGreaterThan(0);
    for (const e of d.heldout) expect(trained.has(key(e))).toBe(false);
    // Renumbered ids (the same feedback stored again) give the same split.
    const again = buildUserDataset(
      items.map((f, i) => ({ ...f, id: `other_${i * 7}` })),
      encoder,
    );
    expect(again.heldout).toEqual(d.heldout);
  });

  it('cuts long texts into chunks that carry the preceding tokens as their prompt', () => {
    const long = 'x'.repeat(300);
    const d = buildUserDataset([item('a', { text: long, prompt: null })], encoder, {
      maxTokens: 128,
      contextTokens: 8,
    });
    expect(d.train.map((e) => e.completion.length)).toEqual([128, 128, 44]);
    expect(d.train.map((e) => e.prompt.length)).toEqual([0, 8, 8]);
  });

  it('trains on everything when there are too few items to hold any out', () => {
    const d = buildUserDataset([item('a'), item('b')], encoder);
    expect(d.train).toHaveLength(2);
    expect(d.heldout).toHaveLength(0);
  });
});

describe('replayExamples', () => {
  const windows = Array.from({ length: 50 }, (_, i) => [i, i + 1, i + 2]);
  it('picks the same general windows for an owner every time, different ones for another owner', () => {
    const a = replayExamples(windows, 'app/u1', 4);
    expect(a).toHaveLength(4);
    expect(replayExamples(windows, 'app/u1', 4)).toEqual(a);
    expect(replayExamples(windows, 'app/u2', 4)).not.toEqual(a);
    expect(a.every((e) => e.prompt.length === 0 && e.weight === 1)).toBe(true);
    expect(replayExamples([], 'app/u1', 4)).toEqual([]);
  });
  it('gives the guard windows none of the replay ones, and never more than the file has', () => {
    const replay = replayExamples(windows, 'app/u1', 20);
    const guard = replayExamples(windows, 'app/u1', 40, 20);
    expect(guard).toHaveLength(30);
    const seen = new Set(replay.map((e) => e.completion[0]));
    expect(seen.size).toBe(20);
    expect(guard.filter((e) => seen.has(e.completion[0] as number))).toEqual([]);
    expect(new Set(guard.map((e) => e.completion[0])).size).toBe(30);
  });
});
