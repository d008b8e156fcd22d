// A generation's answer over HTTP: JSON, or Server-Sent Events with `stream: true` (`token` pieces, then `done`
// with the same object, or `error`) — /v1/generate's and the admin API's. And the one way a stream that failed
// once started is told (the OpenAI-compatible streams word the same failure in OpenAI's shape).
import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { generateResponse } from '../../schema/contracts.js';
import type { StartedGeneration } from '../usecases/generate.js';
import { isEngineUnavailable, streamErrorOf } from './engine-errors.js';
import type { StageTimes } from './server-timing.js';

/** A generation's answer: JSON, or Server-Sent Events with `stream: true` (this route's and the admin one's). */
export const GENERATION_ANSWER = {
  description: 'The generation (JSON), or its stream (`stream: true`)',
  content: {
    'application/json': { schema: generateResponse },
    'text/event-stream': { schema: z.string() },
  },
} as const;

export async function answerGeneration(
  c: Context,
  started: StartedGeneration,
  stream: boolean,
  onError: ((e: unknown) => void) | undefined,
  timing?: StageTimes,
): Promise<Response> {
  if (!stream) {
    const answer = await started.finish();
    // Set before the answer is made (a header added to a made answer costs a copy of it on Node).
    if (timing) c.header('server-timing', timing.header());
    return c.json(answer, 200);
  }
  return streamSSE(c, async (sse) => {
    try {
      for await (const piece of started.pieces)
        await sse.writeSSE({ event: 'token', data: JSON.stringify(piece) });
      await sse.writeSSE({ event: 'done', data: JSON.stringify(await started.finish()) });
    } catch (e) {
      const error = streamFailure(sse, e, onError);
      if (error) await sse.writeSSE({ event: 'error', data: JSON.stringify({ error }) });
    }
  });
}

/**
 * What to tell the client of a stream that failed once started: null when the client left (nothing to tell,
 * nothing stored); otherwise the failure is reported (but no engine available, which is no bug) and its code
 * and the message it may see.
 */
export function streamFailure(
  sse: SSEStreamingApi,
  e: unknown,
  onError: ((e: unknown) => void) | undefined,
): ReturnType<typeof streamErrorOf> | null {
  if (sse.aborted) return null;
  if (!isEngineUnavailable(e)) onError?.(e);
  return streamErrorOf(e);
}
