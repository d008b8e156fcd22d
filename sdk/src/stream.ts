// The stream of POST /v1/generate with `stream: true`: `token` events `{ text }`, then one `done` with the
// generation (or `error`). Reading starts at once; pieces wait in a queue until iterated.
import type { GenerateResponse } from '../../schema/contracts.js';
import { aborted, TailorError } from './errors.js';
import { SseParser } from './sse.js';

export interface GenerationStream extends AsyncIterable<{ text: string }> {
  /** The generation's id (for feedback): the stream names it in its `done` event, so it resolves with `done`. */
  readonly id: Promise<string>;
  /** The final `done` event's body: the same object as the JSON answer. */
  readonly done: Promise<GenerateResponse>;
  /** Stops the generation (closes the connection): iteration ends, `done` and `id` reject with `aborted`. */
  cancel(): void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a rejection nobody awaits (the iterator threw it already) is not unhandled
  return { promise, resolve, reject };
}

/** An `error` event's body as an error: `unavailable` would have been a 503 as an answer, anything else a 500. */
function streamError(data: string): TailorError {
  let e: { code?: unknown; message?: unknown } | undefined;
  try {
    e = (JSON.parse(data) as { error?: typeof e }).error;
  } catch {}
  const code = typeof e?.code === 'string' ? e.code : 'internal';
  const message = typeof e?.message === 'string' ? e.message : 'generation failed';
  return new TailorError(code === 'unavailable' ? 503 : 500, code, message);
}

export class SseGenerationStream implements GenerationStream {
  readonly id: Promise<string>;
  readonly done: Promise<GenerateResponse>;
  private readonly idD = deferred<string>();
  private readonly doneD = deferred<GenerateResponse>();
  private readonly ctrl = new AbortController();
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: unknown;
  private cancelled = false;
  private iterating = false;
  private reader: ReadableStreamDefaultReader<unknown> | undefined;

  /** `open` makes the request (with this stream's signal) and gives the 2xx answer. */
  constructor(open: (signal: AbortSignal) => Promise<Response>, signal?: AbortSignal) {
    this.id = this.idD.promise;
    this.done = this.doneD.promise;
    const onAbort = () => this.ctrl.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.run(open).finally(() => signal?.removeEventListener('abort', onAbort));
  }

  cancel(): void {
    if (this.finished) return;
    this.cancelled = true;
    this.queue.length = 0;
    this.ctrl.abort();
    this.reader?.cancel().catch(() => {}); // for a fetch that does not honour its signal
    this.finish(aborted());
  }

  [Symbol.asyncIterator](): AsyncIterator<{ text: string }> {
    if (this.iterating) throw new TypeError('a generation stream can be iterated once');
    this.iterating = true;
    return {
      next: async () => {
        for (;;) {
          const text = this.queue.shift();
          if (text !== undefined) return { value: { text }, done: false };
          if (this.finished) {
            if (this.failure !== undefined && !this.cancelled) throw this.failure;
            return { value: undefined, done: true };
          }
          await new Promise<void>((r) => {
            this.wake = r;
          });
        }
      },
      return: async () => {
        this.cancel(); // a `break` out of the loop stops the generation
        return { value: undefined, done: true };
      },
    };
  }

  private async run(open: (signal: AbortSignal) => Promise<Response>): Promise<void> {
    try {
      const res = await open(this.ctrl.signal);
      const parser = new SseParser();
      const body = res.body as ReadableStream<unknown> | null | undefined;
      if (!body || typeof body.getReader !== 'function') {
        // A fetch without streaming bodies (React Native's own): the whole answer at once, still correct.
        this.events(parser.push(await res.text()));
      } else {
        this.reader = body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await this.reader.read();
          if (done) break;
          // Some React Native fetches stream text, not bytes.
          const text =
            typeof value === 'string' ? value : decoder.decode(value as Uint8Array, { stream: true });
          if (this.events(parser.push(text))) return;
        }
        this.events(parser.push(decoder.decode()));
      }
      if (!this.events(parser.end()) && !this.finished) {
        throw new TailorError(0, 'stream_ended', 'the stream ended before its done event');
      }
    } catch (e) {
      if (this.ctrl.signal.aborted) this.finish(aborted(this.ctrl.signal.reason));
      else if (e instanceof TypeError)
        this.finish(new TailorError(0, 'network_error', e.message, { cause: e }));
      else this.finish(e);
    }
  }

  /** Handles events; true once the stream is over (done, error, or cancelled). */
  private events(events: { event: string; data: string }[]): boolean {
    for (const ev of events) {
      if (this.finished) return true;
      if (ev.event === 'token') {
        const text = (JSON.parse(ev.data) as { text: string }).text;
        if (text) this.queue.push(text);
        this.poke();
      } else if (ev.event === 'done') {
        const done = JSON.parse(ev.data) as GenerateResponse;
        this.idD.resolve(done.id);
        this.doneD.resolve(done);
        this.finish();
        this.reader?.cancel().catch(() => {});
        return true;
      } else if (ev.event === 'error') {
        this.finish(streamError(ev.data));
        return true;
      }
    }
    return this.finished;
  }

  private finish(failure?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (failure !== undefined) {
      this.failure = failure;
      this.idD.reject(failure);
      this.doneD.reject(failure);
    }
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
