// The answer of an OpenAI-compatible route, in OpenAI's shapes: a completion or chat completion with one entry
// per choice (JSON), or its stream (`data: {chunk}` lines, then `data: [DONE]`), log-probabilities in each
// API's form, usage summed over the choices.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { TokenLogprob } from '../../engine/index.js';
import type { GenerateResponse, OpenAiErrorBody, OpenAiUsage } from '../../schema/contracts.js';
import { streamFailure } from '../http/generation-stream.js';
import type { StartedGeneration } from '../usecases/generate.js';
import type { Kind, OpenAiRequest } from './request.js';

/** The choices under way, and how to stop them all (one failed). */
export interface Choices {
  choices: StartedGeneration[];
  stop: () => void;
}

export interface AnswerOptions {
  kind: Kind;
  /** Seconds since the epoch, for `created`. */
  created: number;
  withLogprobs: boolean;
  onError: ((e: unknown) => void) | undefined;
}

const finishReason = (r: GenerateResponse['finish_reason']) => (r === 'length' ? 'length' : 'stop');

/** Prompt tokens once (every choice has the same prompt), completion tokens summed over the choices. */
const usageOf = (rs: GenerateResponse[]): OpenAiUsage => {
  const prompt = rs[0]?.usage.prompt_tokens ?? 0;
  const completion = rs.reduce((n, r) => n + r.usage.completion_tokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

/** Legacy completions logprobs; a `top_logprobs` entry keeps the first (most likely) of tokens that look alike. */
const completionLogprobs = (lp: readonly TokenLogprob[]) => ({
  tokens: lp.map((t) => t.token),
  token_logprobs: lp.map((t) => t.logprob),
  top_logprobs: lp.map((t) => {
    const seen = new Map<string, number>();
    for (const a of t.top) if (!seen.has(a.token)) seen.set(a.token, a.logprob);
    return Object.fromEntries(seen);
  }),
  text_offset: lp.map((t) => t.offset),
});
const chatLogprobs = (lp: readonly TokenLogprob[]) => ({
  content: lp.map((t) => ({
    token: t.token,
    logprob: t.logprob,
    bytes: t.bytes,
    top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })),
  })),
  refusal: null,
});

/** The whole answer at once: every choice finished, stored, and in one JSON body. */
export async function answerJson(c: Context, req: OpenAiRequest, run: Choices, options: AnswerOptions) {
  const head = { id: (run.choices[0] as StartedGeneration).id, created: options.created, model: req.model };
  let done: { r: GenerateResponse; lp: TokenLogprob[] | undefined }[];
  try {
    done = await Promise.all(
      run.choices.map(async (ch) => ({
        r: await ch.finish(),
        lp: options.withLogprobs ? await ch.logprobs() : undefined,
      })),
    );
  } catch (e) {
    run.stop();
    throw e;
  }
  const usage = usageOf(done.map((d) => d.r));
  if (options.kind === 'text_completion') {
    return c.json(
      {
        ...head,
        object: 'text_completion' as const,
        choices: done.map(({ r, lp }, index) => ({
          text: r.text,
          index,
          logprobs: lp ? completionLogprobs(lp) : null,
          finish_reason: finishReason(r.finish_reason),
          generation_id: r.id,
        })),
        usage,
      },
      200,
    );
  }
  return c.json(
    {
      ...head,
      object: 'chat.completion' as const,
      choices: done.map(({ r, lp }, index) => ({
        index,
        message: { role: 'assistant' as const, content: r.text },
        finish_reason: finishReason(r.finish_reason),
        logprobs: lp ? chatLogprobs(lp) : null,
        generation_id: r.id,
      })),
      usage,
    },
    200,
  );
}

/** The answer as Server-Sent Events: the choices stream at once, their chunks one at a time. */
export function answerStream(c: Context, req: OpenAiRequest, run: Choices, options: AnswerOptions): Response {
  const { choices } = run;
  const head = { id: (choices[0] as StartedGeneration).id, created: options.created, model: req.model };
  const toLogprobs = options.kind === 'text_completion' ? completionLogprobs : chatLogprobs;
  const includeUsage = req.stream_options?.include_usage === true;
  const object = options.kind === 'text_completion' ? 'text_completion' : 'chat.completion.chunk';
  const chunk = (
    index: number | null,
    choice: Record<string, unknown> | null,
    logprobs: TokenLogprob[] | null,
    usage?: OpenAiUsage,
  ) =>
    JSON.stringify({
      ...head,
      object,
      choices:
        index !== null && choice
          ? [
              {
                index,
                ...choice,
                logprobs: logprobs ? toLogprobs(logprobs) : null,
                generation_id: choices[index]?.id,
              },
            ]
          : [],
      ...(includeUsage ? { usage: usage ?? null } : {}),
    });
  const piece = (
    index: number,
    text: string,
    finish_reason: string | null,
    logprobs: TokenLogprob[] | null,
  ) =>
    options.kind === 'text_completion'
      ? chunk(index, { text, finish_reason }, logprobs)
      : chunk(index, { delta: finish_reason ? {} : { content: text }, finish_reason }, logprobs);
  return streamSSE(c, async (stream) => {
    // Once one choice fails, nothing more of the others.
    let queue: Promise<void> = Promise.resolve();
    let failed = false;
    const write = (data: string) => {
      queue = queue.then(() => (failed ? undefined : stream.writeSSE({ data })));
      return queue;
    };
    try {
      if (options.kind === 'chat.completion')
        for (const [i] of choices.entries())
          await write(chunk(i, { delta: { role: 'assistant', content: '' }, finish_reason: null }, null));
      const done = await Promise.all(
        choices.map(async (ch, i) => {
          for await (const p of ch.pieces)
            await write(piece(i, p.text, null, options.withLogprobs ? (p.logprobs ?? []) : null));
          const r = await ch.finish();
          await write(piece(i, '', finishReason(r.finish_reason), null));
          return r;
        }),
      );
      if (includeUsage) await write(chunk(null, null, null, usageOf(done)));
    } catch (e) {
      failed = true;
      run.stop();
      await queue.catch(() => {});
      const failure = streamFailure(stream, e, options.onError);
      if (!failure) return;
      const error: OpenAiErrorBody['error'] = {
        message: failure.message,
        type: 'server_error',
        param: null,
        code: failure.code,
      };
      await stream.writeSSE({ data: JSON.stringify({ error }) });
    }
    await stream.writeSSE({ data: '[DONE]' });
  });
}
