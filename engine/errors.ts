// What can go wrong in the engine, as a closed set of codes. An error crosses a thread boundary as data
// (`EngineErrorData`: a code and a message) and is thrown again on the other side as the type the engine would
// have thrown in that thread (`engineErrorFrom`), so a caller cannot tell an engine here from one in a worker
// thread. Callers decide by code, never by name: the HTTP layer maps each code to a status in one place.
//
// Two codes keep JavaScript's own types, which callers and tests already rely on: a text too long (or a bad
// option) is a RangeError, a cancelled generation the AbortError its signal was aborted with.

export const ENGINE_ERROR_CODES = [
  /** A bad option or input from the caller (a RangeError): maxTokens 0, an id out of the vocabulary… */
  'invalid_options',
  /** A text longer than the context allows (scoring), or memory that does not fit: a RangeError. */
  'input_too_long',
  /** An adapter package refused: malformed, not made for this base model (its shapes, its manifest). */
  'adapter_invalid',
  /** The adapter's files are not in storage. */
  'adapter_missing',
  /** Storage did not answer; the same read may succeed later. */
  'storage_unavailable',
  /** Storage answered too slowly for the caller's bound. */
  'storage_timeout',
  /** The base model package is missing or broken. */
  'model_invalid',
  /** A base model this engine does not serve (a call's, or an adapter's). */
  'unknown_base',
  /** The caller stopped the work (an AbortError). */
  'cancelled',
  /** No engine can take the request now (a thread died and its replacement is loading): retry soon. */
  'unavailable',
  /** Anything else: a bug. Its message is for logs, not for callers. */
  'internal',
] as const;

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

/** An engine error as data: what crosses a thread boundary. */
export interface EngineErrorData {
  code: EngineErrorCode;
  message: string;
}

/** The names these errors had as classes of their own, kept so that stack traces and logs read as before. */
const NAMES: Record<EngineErrorCode, string> = {
  invalid_options: 'RangeError',
  input_too_long: 'RangeError',
  adapter_invalid: 'AdapterError',
  adapter_missing: 'StorageError',
  storage_unavailable: 'StorageUnavailable',
  storage_timeout: 'StorageTimeout',
  model_invalid: 'ModelPackageError',
  unknown_base: 'UnknownBaseError',
  cancelled: 'AbortError',
  unavailable: 'EngineUnavailableError',
  internal: 'EngineError',
};

/** An error of the engine's, with its code. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = NAMES[code];
  }
}

/** An adapter refused (code `adapter_invalid`); the message names the problem. */
export class AdapterError extends EngineError {
  constructor(message: string, options?: ErrorOptions) {
    super('adapter_invalid', message, options);
  }
}

/** A base model package missing or broken (code `model_invalid`). */
export class ModelPackageError extends EngineError {
  constructor(message: string, options?: ErrorOptions) {
    super('model_invalid', message, options);
  }
}

/** No engine can take the request now (code `unavailable`): retry soon. */
export class EngineUnavailableError extends EngineError {
  constructor(message: string, options?: ErrorOptions) {
    super('unavailable', message, options);
  }
}

/** A text or memory that does not fit the context (code `input_too_long`). A RangeError, as it always was. */
export class InputTooLongError extends RangeError {
  readonly code = 'input_too_long' as const;
}

const isAbort = (e: unknown) =>
  (e instanceof DOMException || e instanceof Error) && (e as { name: string }).name === 'AbortError';

/** The code and message of anything the engine (or a loader it called) threw. */
export function engineErrorOf(e: unknown): EngineErrorData {
  if (e instanceof EngineError || e instanceof InputTooLongError) return { code: e.code, message: e.message };
  const message = e instanceof Error || e instanceof DOMException ? e.message : String(e);
  if (isAbort(e)) return { code: 'cancelled', message };
  if (e instanceof RangeError) return { code: 'invalid_options', message };
  return { code: 'internal', message };
}

/** The error an engine in this thread would have thrown for `data` (one that came from another thread). */
export function engineErrorFrom(data: EngineErrorData): Error {
  const { code, message } = data;
  switch (code) {
    case 'invalid_options':
      return new RangeError(message);
    case 'input_too_long':
      return new InputTooLongError(message);
    case 'cancelled':
      return new DOMException(message, 'AbortError') as unknown as Error;
    case 'adapter_invalid':
      return new AdapterError(message);
    case 'model_invalid':
      return new ModelPackageError(message);
    case 'unavailable':
      return new EngineUnavailableError(message);
    default:
      return new EngineError(ENGINE_ERROR_CODES.includes(code) ? code : 'internal', message);
  }
}
