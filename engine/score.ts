// Log-likelihood of texts: each row is [BOS] + memory tokens + context tokens + text tokens, and the negative
// log-likelihood is summed over the text tokens only. Rows are right-padded and masked so several texts
// share one decoder run; batches are cut so B × T stays under `maxBatchTokens` (logits are B × T × vocab).
// A prefix adapter's virtual tokens come first in every row (as past positions) and take room of the context.

import type { Conditioning } from './conditioning.js';
import { InputTooLongError } from './errors.js';
import type { ModelPackage } from './model-package.js';
import { tilePrefix } from './prefix.js';
import { isEmptyInput, type TextInput, tokenIdsOf } from './text-input.js';
import { yieldToEventLoop } from './yield.js';

export interface ScoreResult {
  /** Text tokens scored. */
  tokens: number;
  /** Sum of −log p(token | everything before it), in nats. */
  nll: number;
  /** nll / tokens (0 for an empty text). */
  meanNll: number;
  /** −log p of each text token. */
  tokenNlls: number[];
  /** Context tokens dropped from the left to fit the model's context. */
  contextTruncated: boolean;
  /** Memory tokens the text was scored after (memory is cut from the left only when text and memory overflow). */
  memoryTokens: number;
}

export interface ScoreOptions {
  context?: TextInput;
  /** Text before the context (the user's own passages): kept before any context is. */
  memory?: TextInput;
  conditioning?: Conditioning;
  /** Default 2048. */
  maxBatchTokens?: number;
}

export async function scoreTexts(
  pkg: ModelPackage,
  texts: readonly TextInput[],
  opts: ScoreOptions = {},
): Promise<ScoreResult[]> {
  const { tokenizer, decoder } = pkg;
  const lora = opts.conditioning?.lora;
  const prefix = opts.conditioning?.prefix;
  const virtual = prefix?.length ?? 0;
  const ctx = pkg.contextLength - virtual;
  const vocab = decoder.shape.vocabSize;
  const idsOf = (input: TextInput | undefined, what: string) =>
    input === undefined || isEmptyInput(input) ? [] : tokenIdsOf(tokenizer, input, what);
  const context = idsOf(opts.context, 'context');
  const memory = idsOf(opts.memory, 'memory');
  const rows = texts.map((text, i) => {
    const ids = idsOf(text, `text ${i}`);
    if (ids.length + 1 > ctx)
      throw new InputTooLongError(
        `text ${i} has ${ids.length} tokens; at most ${ctx - 1} fit the model's context`,
      );
    const mem = Math.min(memory.length, ctx - 1 - ids.length);
    const keep = Math.min(context.length, ctx - 1 - mem - ids.length);
    return {
      index: i,
      ids: [
        tokenizer.bosId,
        ...memory.slice(memory.length - mem),
        ...context.slice(context.length - keep),
        ...ids,
      ],
      first: 1 + mem + keep, // position of the first text token
      contextTruncated: keep < context.length,
      memoryTokens: mem,
    };
  });
  const results: ScoreResult[] = rows.map((r) => ({
    tokens: r.ids.length - r.first,
    nll: 0,
    meanNll: 0,
    tokenNlls: [],
    contextTruncated: r.contextTruncated,
    memoryTokens: r.memoryTokens,
  }));

  // Longest first, so rows of similar length share a batch and padding stays small.
  const todo = rows.filter((r) => r.ids.length > r.first).sort((a, b) => b.ids.length - a.ids.length);
  const budget = opts.maxBatchTokens ?? 2048;
  while (todo.length > 0) {
    await yieldToEventLoop(); // a batch of up to 2,048 positions is one long step: let others in between
    const t = (todo[0] as (typeof todo)[number]).ids.length;
    const batch = todo.splice(0, Math.max(1, Math.floor(budget / t)));
    const ids = batch.map((r) => [...r.ids, ...new Array<number>(t - r.ids.length).fill(tokenizer.eosId)]);
    const attentionMask = batch.map((r) => [
      ...new Array<number>(virtual).fill(1),
      ...(ids[0]?.map((_, p) => (p < r.ids.length ? 1 : 0)) ?? []),
    ]);
    const { logits } = await decoder.run({
      ids,
      attentionMask,
      lora,
      ...(prefix ? { past: tilePrefix(prefix, batch.length) } : {}),
    });
    batch.forEach((r, b) => {
      const res = results[r.index] as ScoreResult;
      for (let p = r.first; p < r.ids.length; p++) {
        const row = logits.subarray((b * t + p - 1) * vocab, (b * t + p) * vocab);
        const nll = logSumExp(row) - (row[r.ids[p] as number] as number);
        res.tokenNlls.push(nll);
        res.nll += nll;
      }
      res.meanNll = res.nll / res.tokens;
    });
  }
  return results;
}

function logSumExp(row: Float32Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > max) max = row[i] as number;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp((row[i] as number) - max);
  return max + Math.log(s);
}
