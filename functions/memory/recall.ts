// Memory at request time: the user's most relevant passages (core/db/memory.ts finds them) packed into a fixed
// budget of the model's context, in the order the user wrote or liked them, each followed by a blank line.
// The engine places the packed text right after BOS and keeps it through prompt truncation and window
// slides (engine/generate.ts), so the budget is exact and survives long generations. The token ids counted
// here are the ones handed to the engine: memory is tokenized once.

import type { Db } from '../../core/db/database.js';
import { type MemoryItem, searchMemory } from '../../core/db/memory.js';

export interface Recalled {
  /** The text before the prompt ('' when nothing was recalled). */
  text: string;
  /** The feedback items used, in the order they appear. */
  items: string[];
  /** Tokens `text` takes. */
  tokens: number;
  /** Those tokens (`tokenizer.encode(text)`), for the engine; absent when nothing was recalled. */
  ids?: number[];
}

export const NOTHING_RECALLED: Recalled = { text: '', items: [], tokens: 0 };

/** Items considered per request: more than ever fit the budget of a 256-position model. */
const CANDIDATES = 8;
const SEPARATOR = '\n\n';

/** The budget for a model: the configured tokens, at most 3/8 of its context (the prompt and the text need room). */
export function memoryBudget(configuredTokens: number, contextLength: number): number {
  return Math.max(0, Math.min(configuredTokens, Math.floor((contextLength * 3) / 8)));
}

interface Encoder {
  encode(text: string): number[];
}

/** The last words of `text` whose packed form fits `budget` tokens ('' when not even one word does). */
function tailThatFits(text: string, tokenizer: Encoder, budget: number): string {
  const words = text.split(/(?<=\s)/);
  let lo = 0; // words kept, known to fit
  let hi = words.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const tail = words.slice(words.length - mid).join('');
    if (tokenizer.encode(tail + SEPARATOR).length <= budget) lo = mid;
    else hi = mid - 1;
  }
  return words.slice(words.length - lo).join('');
}

/**
 * Packs items (best first) into `budget` tokens: each item that still fits is taken, the best one cut to its
 * last words when it alone is too long; the taken ones are laid out oldest first.
 */
export function packMemory(items: readonly MemoryItem[], tokenizer: Encoder, budget: number): Recalled {
  type Taken = { item: MemoryItem; text: string };
  const taken: Taken[] = [];
  const chronological = (list: Taken[]) =>
    [...list].sort(
      (a, b) => a.item.createdAt.getTime() - b.item.createdAt.getTime() || (a.item.id < b.item.id ? -1 : 1),
    );
  const layout = (list: Taken[]) =>
    chronological(list)
      .map((t) => t.text + SEPARATOR)
      .join('');
  let ids: number[] = []; // of the layout of what is taken so far: the text returned
  for (const item of items) {
    const text = item.text.trim();
    if (!text) continue;
    const trial = [...taken, { item, text }];
    const trialIds = tokenizer.encode(layout(trial));
    if (trialIds.length <= budget) {
      taken.push({ item, text });
      ids = trialIds;
    } else if (taken.length === 0) {
      const tail = tailThatFits(text, tokenizer, budget);
      if (!tail) continue;
      taken.push({ item, text: tail });
      ids = tokenizer.encode(layout(taken));
    }
    if (budget - ids.length < 8) break; // no passage is that short: stop searching
  }
  if (taken.length === 0) return NOTHING_RECALLED;
  const ordered = chronological(taken);
  return {
    text: ordered.map((t) => t.text + SEPARATOR).join(''),
    items: ordered.map((t) => t.item.id),
    tokens: ids.length,
    ids,
  };
}

/** The user's memory for a request whose words are `query`, within `budget` tokens. */
export async function recall(
  db: Db,
  tokenizer: Encoder,
  request: { appId: string; userId: string; query: string; budget: number },
): Promise<Recalled> {
  if (request.budget <= 0) return NOTHING_RECALLED;
  const found = await searchMemory(db, {
    appId: request.appId,
    userId: request.userId,
    query: request.query,
    limit: CANDIDATES,
  });
  return packMemory(found, tokenizer, request.budget);
}
