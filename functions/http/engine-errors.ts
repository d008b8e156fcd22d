// The engine's error codes in the API's words, in one place: the status an engine error answers with, what a
// stream's `error` event says, and the reason a request is served by the base model when its adapters cannot
// be applied. Decided by code (engine/errors.ts), never by an error's name.
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type EngineErrorCode, engineErrorOf } from '../../engine/index.js';

interface Mapping {
  /** The answer when the error ends a request (500: the generic `internal error`, message not shown). */
  status: ContentfulStatusCode;
  /** As a fallback reason: its label (`<label>: <message>`, `tailor_adapter_fallbacks_total{reason}`). */
  fallback?: string;
}

const ENGINE_HTTP: Record<EngineErrorCode, Mapping> = {
  invalid_options: { status: 500 },
  input_too_long: { status: 422 },
  adapter_invalid: { status: 500, fallback: 'AdapterError' },
  adapter_missing: { status: 500, fallback: 'StorageError' },
  storage_unavailable: { status: 500, fallback: 'StorageUnavailable' },
  storage_timeout: { status: 500, fallback: 'StorageTimeout' },
  model_invalid: { status: 500, fallback: 'ModelPackageError' },
  unknown_base: { status: 500, fallback: 'UnknownBase' },
  cancelled: { status: 500 },
  unavailable: { status: 503 },
  internal: { status: 500 },
};

const API_CODES: Partial<Record<ContentfulStatusCode, string>> = {
  422: 'invalid_request',
  503: 'unavailable',
};

/** The engine's code for `e` (`internal` for anything not the engine's). */
export const engineCode = (e: unknown): EngineErrorCode => engineErrorOf(e).code;

/** No engine can take the request now (a thread died): a 503 with Retry-After, never the base model. */
export const isEngineUnavailable = (e: unknown): boolean => engineCode(e) === 'unavailable';

/** The engine refused the input itself: a text too long for the context, an option out of range. */
export const isInputRefused = (e: unknown): boolean =>
  ['input_too_long', 'invalid_options'].includes(engineCode(e));

/**
 * For app.onError: the answer to an engine error that ends a request — 503 (with Retry-After) when no engine is
 * available, 422 for a text too long; undefined for the rest (a 500 that shows nothing).
 */
export function engineAnswer(
  e: unknown,
):
  | { status: ContentfulStatusCode; code: string; message: string; headers?: Record<string, string> }
  | undefined {
  const { code, message } = engineErrorOf(e);
  const { status } = ENGINE_HTTP[code];
  const apiCode = API_CODES[status];
  if (!apiCode) return undefined;
  return { status, code: apiCode, message, ...(status === 503 ? { headers: { 'retry-after': '1' } } : {}) };
}

/**
 * A stream's `error` event for a generation that failed once started: a code, and the message only when it says
 * what the caller can act on (retry later; the input).
 */
export function streamErrorOf(e: unknown): { code: 'unavailable' | 'internal'; message: string } {
  const { code, message } = engineErrorOf(e);
  const unavailable = code === 'unavailable';
  return {
    code: unavailable ? 'unavailable' : 'internal',
    message: unavailable || isInputRefused(e) ? message : 'generation failed',
  };
}

/** Why an adapter set could not be applied: a code for metrics and charts, a message safe to show a caller. */
export function fallbackOf(e: unknown): { code: string; reason: string } {
  const { code, message } = engineErrorOf(e);
  const label = ENGINE_HTTP[code].fallback;
  if (label) return { code: label, reason: `${label}: ${message}` };
  return { code: 'LoadError', reason: 'LoadError: the adapter could not be loaded' };
}
