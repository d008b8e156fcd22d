// Feedback → supervised examples for one user, as token ids (the trainer never sees text).
//
// - A like (+1) of a generation or of the user's own text: prompt → text, weight 1.
// - An edit (edited_text, with either rating): the user's own correction, prompt → edited text, weight 2.
// - A dislike without an edit: counted, kept out of supervised training; listed in `dislikes` (prompt → text)
//   for the trainer's unlikelihood term, which pushes the adapter away from it when the recipe weighs it.
// Each item lands in training or held-out by a hash of its content (prompt and target text), so an item never
// changes sides as feedback grows, the held-out loss of successive versions is measured on the same items, and
// the same passage sent twice (liked again, re-sent by a retrying app) never sits on both sides: a held-out
// copy of a training item would make any adapter look good.
import { isUsableFeedback } from '../core/db/feedback.js';
import type { TrainingExample } from '../core/training/trainer-contract.js';

export interface FeedbackItem {
  id: string;
  prompt: string | null;
  text: string;
  rating: 1 | -1;
  editedText: string | null;
}

export interface Encoder {
  encode(text: string): number[];
}

export interface DatasetOptions {
  /** Completion tokens per example; longer texts are cut into several examples. */
  maxTokens: number;
  /** Share of items held out, in percent. */
  heldoutPercent: number;
  /** Tokens of preceding text given as the prompt of a continuation chunk. */
  contextTokens: number;
  editWeight: number;
}

export const defaultDatasetOptions: DatasetOptions = {
  maxTokens: 128,
  heldoutPercent: 20,
  contextTokens: 32,
  editWeight: 2,
};

export interface UserDataset {
  train: TrainingExample[];
  heldout: TrainingExample[];
  /** Disliked texts without an edit (never held out: the gate measures only what the user wants). */
  dislikes?: TrainingExample[];
  counts: { likes: number; edits: number; dislikes: number; examples: number };
  /** Which feedback items (ids) went to each side. */
  split?: { train: string[]; heldout: string[] };
}

/** FNV-1a: stable across processes and runtimes. */
function bucketHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A key's bucket, 0..99: below `heldoutPercent` it is held out. */
export function bucketOf(key: string): number {
  return bucketHash(key) % 100;
}

/** What decides a feedback item's side: its prompt and the text it trains on, not its (random) id. */
export function splitKey(prompt: string | null, target: string): string {
  return `${prompt ?? ''}\u0000${target}`;
}

function chunk(prompt: number[], completion: number[], weight: number, o: DatasetOptions): TrainingExample[] {
  const out: TrainingExample[] = [];
  for (let at = 0; at < completion.length; at += o.maxTokens) {
    const before = at === 0 ? prompt : completion.slice(Math.max(0, at - o.contextTokens), at);
    out.push({ prompt: before, completion: completion.slice(at, at + o.maxTokens), weight });
  }
  return out;
}

export function buildUserDataset(
  items: FeedbackItem[],
  encoder: Encoder,
  options: Partial<DatasetOptions> = {},
): UserDataset {
  const o = { ...defaultDatasetOptions, ...options };
  const train: TrainingExample[] = [];
  const heldout: TrainingExample[] = [];
  const dislikes: TrainingExample[] = [];
  const counts = { likes: 0, edits: 0, dislikes: 0, examples: 0 };
  const split = { train: [] as string[], heldout: [] as string[] };
  const usable = items.filter(isUsableFeedback);
  for (const f of items) {
    let target: string;
    let weight: number;
    if (f.editedText) {
      counts.edits++;
      target = f.editedText;
      weight = o.editWeight;
    } else if (f.rating === 1) {
      counts.likes++;
      target = f.text;
      weight = 1;
    } else {
      counts.dislikes++;
      const completion = encoder.encode(f.text);
      if (completion.length > 0)
        dislikes.push(...chunk(f.prompt ? encoder.encode(f.prompt) : [], completion, 1, o));
      continue;
    }
    const completion = encoder.encode(target);
    if (completion.length === 0) continue;
    const examples = chunk(f.prompt ? encoder.encode(f.prompt) : [], completion, weight, o);
    // With very little data everything trains; the trainer then early-stops on the training set itself.
    const held = usable.length >= 5 && bucketOf(splitKey(f.prompt, target)) < o.heldoutPercent;
    (held ? heldout : train).push(...examples);
    (held ? split.heldout : split.train).push(f.id);
  }
  if (train.length === 0 && heldout.length > 0) {
    train.push(...heldout.splice(0, heldout.length));
    split.train.push(...split.heldout.splice(0));
  }
  counts.examples = train.length + heldout.length;
  return { train, heldout, dislikes, counts, split };
}

/**
 * `n` windows of general text for one owner, picked by a hash of `key`: the same owner gets the same
 * windows every cycle, different owners different ones. `skip` passes over the owner's first windows: the
 * guard's windows (`skip` = the replay count) are then disjoint from the replay ones (while the two together
 * fit in the file and its window count is not a multiple of the stride, 97, a prime).
 */
export function replayExamples(windows: number[][], key: string, n: number, skip = 0): TrainingExample[] {
  const count = Math.min(n, windows.length - skip);
  if (count <= 0) return [];
  const start = (bucketHash(key) * 7919) % windows.length;
  return Array.from({ length: count }, (_, i) => ({
    prompt: [],
    completion: windows[(start + (skip + i) * 97) % windows.length] as number[],
    weight: 1,
  }));
}
