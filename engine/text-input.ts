// Text the engine reads (a prompt, memory, a text to score, its context): the text itself, or its token ids
// when the caller has tokenized it already (the HTTP layer counts a prompt's tokens to enforce its limit, and
// packs memory by tokens). Ids are taken as they are, so the model sees exactly what the caller counted, and
// a worker thread is sent ids rather than text it would tokenize again.
import type { TextTokenizer } from '../core/model/tokenizer.js';

/** Text, or its token ids under the base model's tokenizer (`tokenizer.encode(text)`: no BOS). */
export type TextInput = string | { readonly ids: readonly number[] };

export const isTextInput = (v: unknown): v is TextInput =>
  typeof v === 'string' ||
  (typeof v === 'object' && v !== null && Array.isArray((v as { ids?: unknown }).ids));

/** The token ids of `input` (RangeError, naming `what`, for ids the tokenizer does not have). */
export function tokenIdsOf(tokenizer: TextTokenizer, input: TextInput, what: string): number[] {
  if (typeof input === 'string') return tokenizer.encode(input);
  const ids = [...input.ids];
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0 || id >= tokenizer.vocabSize)
      throw new RangeError(`${what}: token id ${id} is not in the vocabulary`);
  }
  return ids;
}

/** Whether `input` is empty (no text, no ids). */
export const isEmptyInput = (input: TextInput | undefined): boolean =>
  input === undefined || (typeof input === 'string' ? input.length === 0 : input.ids.length === 0);
