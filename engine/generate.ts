// Text generation with the KV cache: prefill the prompt once, then one token per decoder run. Pieces of
// text are streamed as soon as they are final: whole UTF-8 characters only (bytes of a character split
// across tokens are held until it completes) and never a possible start of a stop string.
//
// Context policy (the model sees at most `contextLength` positions, BOS included; a prefix adapter's virtual
// tokens take the first of them, so below `contextLength` is what is left after it):
// - the head is [BOS] + the memory's tokens (the user's own passages, when asked): it is never cut and
//   survives every slide; memory may take at most contextLength / 2 − 1 positions;
// - the prompt follows the head, cut from the left to contextLength − min(maxTokens, contextLength / 2)
//   positions in all, so there is room to generate; `promptTruncated` says when that happened;
// - when the window fills during generation, it slides: the head + the last half of what remains after it
//   are prefilled again and decoding goes on, so maxTokens may exceed the context length.

import { Utf8StreamDecoder } from '../core/model/tokenizer.js';
import { mulberry32, randomSeed } from '../core/util/rng.js';
import type { Batcher } from './batch.js';
import type { Conditioning } from './conditioning.js';
import { InputTooLongError } from './errors.js';
import { LogprobScorer, type TokenLogprob } from './logprobs.js';
import type { ModelPackage } from './model-package.js';
import { Sampler } from './sampler.js';
import { StopMatcher } from './stop.js';
import { isEmptyInput, isTextInput, type TextInput, tokenIdsOf } from './text-input.js';
import { yieldToEventLoop } from './yield.js';

export type FinishReason = 'stop' | 'length' | 'eos';

export interface GenerateOptions {
  /** Tokens to generate at most (≥ 1). Default 64. */
  maxTokens?: number;
  /** 0 = greedy. Default 0.8. */
  temperature?: number;
  /** Default 0.95; 1 = off. */
  topP?: number;
  /** Default 50; 0 = off. */
  topK?: number;
  /** Same seed, same options, same adapters → same text. Default: a random seed (reported back). */
  seed?: number;
  /** The text ends right before the first occurrence of any of these. */
  stop?: readonly string[];
  /** Aborting rejects the result (and the stream) with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Report each generated token's log-probability (see logprobs.ts) with this many top alternatives (0 to
   * 20; 0 = the chosen token's only). Absent: nothing is computed.
   */
  logprobs?: number;
  /** Text the model sees before the prompt, kept whole through truncation and slides (see above). */
  memory?: TextInput;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  /** Prompt tokens the model saw, after any truncation (BOS not counted). */
  promptTokens: number;
  promptTruncated: boolean;
  /** Tokens of `memory` before the prompt (0 without). */
  memoryTokens: number;
  /** Tokens generated (an end-of-sequence token is not counted). */
  completionTokens: number;
  seed: number;
  /**
   * With `logprobs`: the tokens whose text is in `text`, in order (see TextPiece). Tokens wholly inside a stop
   * string or after it, and the bytes of a character cut at the end, are not listed (they are counted).
   */
  logprobs?: TokenLogprob[];
  timings: {
    /** From the call to the first sampled token: adapter load and prefill included. */
    firstTokenMs: number;
    totalMs: number;
    /** completionTokens over totalMs. */
    tokensPerSecond: number;
  };
}

export interface TextPiece {
  text: string;
  /**
   * With `logprobs`: the tokens that first reach the text with this piece: a token is listed with the piece
   * that releases its first character (a token that only completes an earlier token's character is listed
   * with that one's piece or a later one). Over the whole stream these are the result's `logprobs`.
   */
  logprobs?: TokenLogprob[];
}

export type Emit = (text: string, logprobs?: TokenLogprob[]) => void;

/**
 * One generation in progress: iterate it for text pieces (once), or await `result`. It runs whether or
 * not anyone iterates; pieces wait in a queue until read. Leaving the loop early cancels it (`result`
 * then rejects with an AbortError).
 */
export class Generation implements AsyncIterable<TextPiece> {
  readonly result: Promise<GenerateResult>;
  private readonly pieces: TextPiece[] = [];
  private finished = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;
  private iterated = false;

  /** `cancel` is called when a reader leaves the loop early (break, return, throw) before the end. */
  constructor(
    run: (emit: Emit) => Promise<GenerateResult>,
    private readonly cancel?: () => void,
  ) {
    this.result = run((text, logprobs) => {
      if (text.length === 0 && !logprobs?.length) return;
      this.pieces.push(logprobs ? { text, logprobs } : { text });
      this.notify();
    });
    this.result.then(
      () => this.end(null),
      (error: unknown) => this.end({ error }),
    );
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TextPiece> {
    if (this.iterated) throw new Error('a Generation can be iterated only once');
    this.iterated = true;
    try {
      for (;;) {
        const piece = this.pieces.shift();
        if (piece !== undefined) {
          yield piece;
          continue;
        }
        if (this.finished) {
          if (this.failure) throw this.failure.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      // A reader that stops early (e.g. the client went away) does not want the rest: stop computing it.
      if (!this.finished) this.cancel?.();
    }
  }

  private end(failure: { error: unknown } | null): void {
    this.finished = true;
    this.failure = failure;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

export interface ResolvedGenerateOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop: readonly string[];
  signal: AbortSignal | undefined;
  logprobs: number | undefined;
  memory: TextInput;
}

/** Defaults applied and ranges checked (RangeError names the bad option). */
export function resolveGenerateOptions(options: GenerateOptions = {}): ResolvedGenerateOptions {
  const r: ResolvedGenerateOptions = {
    maxTokens: options.maxTokens ?? 64,
    temperature: options.temperature ?? 0.8,
    topP: options.topP ?? 0.95,
    topK: options.topK ?? 50,
    seed: options.seed ?? randomSeed(),
    stop: options.stop ?? [],
    signal: options.signal,
    logprobs: options.logprobs,
    memory: options.memory ?? '',
  };
  if (!isTextInput(r.memory)) throw new RangeError('memory must be a string or token ids');
  if (!Number.isSafeInteger(r.maxTokens) || r.maxTokens < 1)
    throw new RangeError('maxTokens must be an integer ≥ 1');
  if (!(Number.isFinite(r.temperature) && r.temperature >= 0))
    throw new RangeError('temperature must be ≥ 0');
  if (!(r.topP > 0 && r.topP <= 1)) throw new RangeError('topP must be in (0, 1]');
  if (!Number.isSafeInteger(r.topK) || r.topK < 0) throw new RangeError('topK must be an integer ≥ 0');
  if (!Number.isSafeInteger(r.seed)) throw new RangeError('seed must be an integer');
  if (!r.stop.every((s) => typeof s === 'string')) throw new RangeError('stop must be a list of strings');
  if (r.logprobs !== undefined && !(Number.isSafeInteger(r.logprobs) && r.logprobs >= 0 && r.logprobs <= 20))
    throw new RangeError('logprobs must be an integer from 0 to 20');
  return r;
}

const samplers = new WeakMap<ModelPackage, Sampler[]>();

/**
 * The decode loop. `t0` is when the request started (performance.now()), for the timings. Decode steps go
 * through `batcher`, with whichever generations decode at the same time.
 */
export async function runGeneration(
  pkg: ModelPackage,
  batcher: Batcher,
  prompt: TextInput,
  settings: ResolvedGenerateOptions,
  conditioning: Conditioning | undefined,
  emit: Emit,
  t0: number,
): Promise<GenerateResult> {
  const { tokenizer, decoder } = pkg;
  settings.signal?.throwIfAborted();
  const lora = conditioning?.lora;
  const prefix = conditioning?.prefix;
  const ctx = pkg.contextLength - (prefix?.length ?? 0);
  const vocab = decoder.shape.vocabSize;
  const bos = tokenizer.bosId;
  // An imported base may end text with more than one token (generation_config's EOS list: a chat turn's end)
  const stopIds = new Set<number>(pkg.config.tailor.eos_ids ?? []);
  const promptIds = tokenIdsOf(tokenizer, prompt, 'prompt');
  const memory = settings.memory;
  const head = [bos, ...(isEmptyInput(memory) ? [] : tokenIdsOf(tokenizer, memory, 'memory'))];
  if (head.length > Math.floor(ctx / 2))
    throw new InputTooLongError(
      `memory has ${head.length - 1} tokens; at most ${Math.floor(ctx / 2) - 1} fit`,
    );
  const maxPrompt = ctx - Math.min(settings.maxTokens, Math.floor(ctx / 2)) - head.length;
  const promptTruncated = promptIds.length > maxPrompt;
  let seq = [...head, ...(promptTruncated ? promptIds.slice(promptIds.length - maxPrompt) : promptIds)];
  const promptTokens = seq.length - head.length;
  const slideKeep = Math.floor((ctx - head.length) / 2);

  // Samplers hold scratch buffers; concurrent generations each take their own from a small pool.
  const pool = samplers.get(pkg) ?? [];
  samplers.set(pkg, pool);
  const sampler = pool.pop() ?? new Sampler(vocab);
  const row = batcher.open(lora);
  try {
    const rng = mulberry32(settings.seed);
    const params = { temperature: settings.temperature, topK: settings.topK, topP: settings.topP };
    const utf8 = new Utf8StreamDecoder();
    const stops = new StopMatcher(settings.stop);
    let text = '';
    // Log-probabilities only when asked: `scored` holds every generated token's, `listed` how many of them
    // have reached the text (a token's offset is where its first character lands in the decoded stream).
    const scorer =
      settings.logprobs === undefined ? null : new LogprobScorer(tokenizer, vocab, settings.logprobs);
    const scored: TokenLogprob[] = [];
    let listed = 0;
    let decoded = 0;
    const out = (t: string) => {
      text += t;
      if (!scorer) return emit(t);
      const from = listed;
      while (listed < scored.length && (scored[listed] as TokenLogprob).offset < text.length) listed++;
      emit(t, scored.slice(from, listed));
    };

    // The prompt (and the window again after a slide) runs alone; the prompt's first token sits after the prefix.
    const prefill = () => batcher.prefill(row, seq, prefix?.length ?? 0, prefix?.kv);
    let logits = await prefill();
    let firstTokenAt = 0;
    let completion = 0;
    let finishReason: FinishReason;
    for (;;) {
      await yieldToEventLoop();
      settings.signal?.throwIfAborted();
      for (const id of tokenizer.nulIds) logits[id] = Number.NEGATIVE_INFINITY; // unstorable, unreadable
      // A vocabulary padded past the tokenizer's (imported bases): those rows are no token at all.
      if (tokenizer.vocabSize < vocab) logits.fill(Number.NEGATIVE_INFINITY, tokenizer.vocabSize, vocab);
      const tok = sampler.sample(logits, params, rng);
      if (firstTokenAt === 0) firstTokenAt = performance.now();
      if (tok === tokenizer.eosId || stopIds.has(tok)) {
        finishReason = 'eos';
        break;
      }
      completion++;
      seq.push(tok);
      if (scorer) scored.push(scorer.score(logits, tok, decoded));
      const piece = utf8.push(tokenizer.tokenBytes(tok));
      decoded += piece.length;
      if (piece) {
        const r = stops.push(piece);
        out(r.text);
        if (r.stopped) {
          finishReason = 'stop';
          break;
        }
      }
      if (completion >= settings.maxTokens) {
        finishReason = 'length';
        break;
      }
      if (seq.length >= ctx) {
        seq = [...head, ...seq.slice(seq.length - slideKeep)];
        logits = await prefill();
      } else {
        logits = await batcher.step(row, tok);
      }
    }
    // Held text was not a stop string after all. Bytes of an unfinished character are dropped.
    if (finishReason !== 'stop') out(stops.flush());
    const end = performance.now();
    const totalMs = end - t0;
    return {
      text,
      finishReason,
      promptTokens,
      promptTruncated,
      memoryTokens: head.length - 1,
      completionTokens: completion,
      seed: settings.seed,
      ...(scorer ? { logprobs: scored.slice(0, listed) } : {}),
      timings: {
        firstTokenMs: firstTokenAt - t0,
        totalMs,
        tokensPerSecond: totalMs > 0 ? (completion * 1000) / totalMs : 0,
      },
    };
  } finally {
    batcher.close(row);
    if (pool.length < 8) pool.push(sampler);
  }
}
