// Generation for a user: the prompt checked against the limit, the adapters resolved (the holdout experiment
// may hold the user out), loaded or fallen back from, the memory recalled, the engine started; `finish` stores
// the generation and gives the answer. /v1/generate, the OpenAI-compatible routes and the admin API all run
// it; how the answer travels (JSON, Server-Sent Events, OpenAI's shapes) is theirs.
import { armOf, type GenerationArm } from '../../core/apps/experiment.js';
import { insertGeneration } from '../../core/db/generations.js';
import type { TextPiece, TokenLogprob } from '../../engine/index.js';
import type { GenerateRequest, GenerateResponse } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import { StageTimes } from '../http/server-timing.js';
import type { Services } from '../http/services.js';
import { chooseModel } from './bases.js';
import { invalidInput } from './errors.js';
import { loadOrFallBack, memoryFor, withoutUserAdapter } from './personalize.js';

/** A generation request once the acting user is known. */
export type GenerationRequest = GenerateRequest & { user: string };

/** What only some callers ask of a generation. */
export interface GenerationOptions {
  /**
   * false: not in the app's holdout experiment (the console's generations as any user: an operator gets the
   * adapter asked for). Otherwise an `auto` request of a user with an adapter is.
   */
  experiment?: boolean;
  /** Log-probabilities with this many alternatives per token (engine `logprobs`). */
  logprobs?: number;
  /** Stops the generation: the client left, or a sibling choice failed. */
  signal?: AbortSignal;
  /** Where the request's time goes, stage by stage (the route's Server-Timing header). */
  timing?: StageTimes;
}

/** A generation under way: its id, its text pieces, and `finish`, which stores it and gives the answer. */
export interface StartedGeneration {
  id: string;
  pieces: AsyncIterable<TextPiece>;
  finish: () => Promise<GenerateResponse>;
  /** The tokens' log-probabilities once done (with `logprobs` asked; otherwise undefined). */
  logprobs: () => Promise<TokenLogprob[] | undefined>;
}

export async function startGeneration(
  s: Services,
  app: App,
  req: GenerationRequest,
  options: GenerationOptions = {},
): Promise<StartedGeneration> {
  const timing = options.timing ?? new StageTimes();
  const settings = await timing.time('settings', () => s.settings.of(app.id));
  const { base, styles } = await chooseModel(s, req.model ?? settings.model.base, req.styles);
  // Tokenized once: counted here against the limit, and handed to the engine as they are.
  const promptIds = timing.timeSync('tokenize', () => s.engine.model(base).tokenizer.encode(req.prompt));
  const promptTokens = promptIds.length;
  const maxPromptTokens = s.config.limits.maxPromptTokens;
  if (promptTokens > maxPromptTokens) {
    throw invalidInput(`prompt: ${promptTokens} tokens, over the limit of ${maxPromptTokens}`, {
      path: 'prompt',
      message: `at most ${maxPromptTokens} tokens`,
    });
  }
  const choice = req.adapter ?? settings.defaults.adapter;
  const [resolution, recalled] = await Promise.all([
    timing.time('resolve', () => s.adapters.resolve(app.id, req.user, choice, styles)),
    timing.time('memory', () =>
      memoryFor(s, app, req.user, req.memory ?? settings.defaults.memory, req.prompt, undefined, base),
    ),
  ]);
  let adapters = resolution;
  let memory = recalled;
  const id = await s.generationIds.mint(app.id, req.user, s.now());
  // The holdout experiment: only `auto` requests of a user who has an active adapter now, while it is on.
  const holdoutPercent = settings.experiment.holdout_percent;
  let arm: GenerationArm | null = null;
  if (options.experiment !== false && choice === 'auto' && resolution.user && holdoutPercent > 0) {
    arm = armOf(id, holdoutPercent);
    // Held out: not personalized at all — the base model (with the app styles asked for) and no memory.
    if (arm === 'holdout') {
      adapters = withoutUserAdapter(resolution);
      memory = undefined;
    }
  }
  // Seen only once the adapters resolve: a refused request (an unknown version or style) writes nothing.
  const { resolved, refs, fallback } = await timing.time('load', () => loadOrFallBack(s, adapters, base));
  await timing.time('seen', () => s.seen(app.id, req.user));
  const started = performance.now();
  const gen = s.engine.generate(
    { ids: promptIds },
    {
      base,
      maxTokens: req.max_tokens,
      temperature: req.temperature,
      topP: req.top_p,
      topK: req.top_k,
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(req.stop ? { stop: req.stop } : {}),
      adapters: refs,
      stream: req.stream,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.logprobs !== undefined ? { logprobs: options.logprobs } : {}),
      ...(memory?.ids?.length ? { memory: { ids: memory.ids } } : {}),
    },
  );
  const memoryUsed = memory ? { items: memory.items, tokens: memory.tokens } : undefined;

  const finish = async (): Promise<GenerateResponse> => {
    const r = await gen.result;
    // The engine's own prefill and decode; what the caller waited beyond them is the hop to the engine
    // (an engine thread's queue and messages) and back.
    const waited = performance.now() - started;
    timing.add('prefill', r.timings.firstTokenMs);
    timing.add('decode', r.timings.totalMs - r.timings.firstTokenMs);
    timing.add('hop', Math.max(0, waited - r.timings.totalMs));
    const timings = {
      first_token: round(r.timings.firstTokenMs),
      total: round(r.timings.totalMs),
    };
    await timing.time('insert', () =>
      insertGeneration(s.db, {
        id,
        appId: app.id,
        userId: req.user,
        prompt: req.prompt,
        text: r.text,
        adapterVersion: resolved.user?.version ?? null,
        styles: resolved.styles.map(({ id, weight }) => ({ id, weight })),
        params: {
          max_tokens: req.max_tokens,
          temperature: req.temperature,
          top_p: req.top_p,
          top_k: req.top_k,
          seed: r.seed,
          stop: req.stop ?? [],
          ...(memoryUsed ? { memory: memoryUsed } : {}),
        },
        finishReason: r.finishReason,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        timingsMs: timings,
        fallbackReason: fallback?.code ?? null,
        arm,
      }),
    );
    return {
      id,
      text: r.text,
      finish_reason: r.finishReason,
      model: base,
      adapter: resolved.user,
      ...(resolved.styles.length ? { styles: resolved.styles } : {}),
      ...(fallback ? { adapter_fallback: { reason: fallback.reason } } : {}),
      ...(memoryUsed ? { memory: memoryUsed } : {}),
      ...(arm ? { experiment: { arm } } : {}),
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      timings_ms: timings,
      seed: r.seed,
    };
  };

  return { id, pieces: gen, finish, logprobs: () => gen.result.then((r) => r.logprobs) };
}

/**
 * `n` generations of one request (OpenAI's choices), each stored with its own id; with a seed, choice i uses
 * seed + i. A failure of one stops those already running. `signal`: the client's; `stop` ends them all.
 */
export async function startChoices(
  s: Services,
  app: App,
  req: GenerationRequest,
  n: number,
  options: { logprobs?: number; signal?: AbortSignal } = {},
): Promise<{ choices: StartedGeneration[]; stop: () => void }> {
  const stopper = new AbortController();
  const stop = () => stopper.abort(siblingFailed());
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
  const choiceOptions: GenerationOptions = {
    signal,
    ...(options.logprobs !== undefined ? { logprobs: options.logprobs } : {}),
  };
  const choices: StartedGeneration[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const seed = req.seed === undefined ? {} : { seed: choiceSeed(req.seed, i) };
      choices.push(await startGeneration(s, app, { ...req, ...seed }, choiceOptions));
    }
  } catch (e) {
    stop();
    throw e;
  }
  return { choices, stop };
}

/** Choice i's seed: seed + i, so a whole answer is reproducible (seed − i past the safe integers). */
const choiceSeed = (seed: number, i: number) => (Number.isSafeInteger(seed + i) ? seed + i : seed - i);

const siblingFailed = () => new DOMException('another choice of the request failed', 'AbortError');

const round = (ms: number) => Math.round(ms * 10) / 10;
