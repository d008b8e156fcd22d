// Backoff between tries: exponential with jitter, or the server's Retry-After; a sleep an AbortSignal ends.
import { aborted } from './errors.js';

export interface RetryDelay {
  /** The first backoff, before jitter (default 500 ms); it doubles with each try. */
  baseMs?: number;
  /** The longest wait (default 30 s). A Retry-After longer than this is not waited for: the error is thrown. */
  maxMs?: number;
}

/** The wait before try `attempt + 1` (0-based): base·2^attempt, capped, with "equal jitter" (half to all of it). */
export function backoffMs(attempt: number, d: RetryDelay = {}, random = Math.random): number {
  const base = d.baseMs ?? 500;
  const max = d.maxMs ?? 30_000;
  const full = Math.min(max, base * 2 ** attempt);
  return full / 2 + random() * (full / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
