// Errors cross a thread boundary as a code and a message, and come back as what the engine would have thrown
// in that thread: the same code, the same message, the type callers test for.
import { describe, expect, it } from 'vitest';
import {
  AdapterError,
  ENGINE_ERROR_CODES,
  EngineError,
  EngineUnavailableError,
  engineErrorFrom,
  engineErrorOf,
  InputTooLongError,
  ModelPackageError,
} from './errors.js';

describe('engine errors', () => {
  it('every code survives the trip: data → error → data', () => {
    for (const code of ENGINE_ERROR_CODES) {
      const back = engineErrorOf(engineErrorFrom({ code, message: `a ${code}` }));
      expect(back).toEqual({ code, message: `a ${code}` });
    }
  });

  it('comes back as the type callers test for', () => {
    expect(engineErrorFrom({ code: 'input_too_long', message: 'x' })).toBeInstanceOf(RangeError);
    expect(engineErrorFrom({ code: 'invalid_options', message: 'x' })).toBeInstanceOf(RangeError);
    expect(engineErrorFrom({ code: 'cancelled', message: 'x' })).toMatchObject({ name: 'AbortError' });
    expect(engineErrorFrom({ code: 'adapter_invalid', message: 'x' })).toBeInstanceOf(AdapterError);
    expect(engineErrorFrom({ code: 'model_invalid', message: 'x' })).toBeInstanceOf(ModelPackageError);
    expect(engineErrorFrom({ code: 'unavailable', message: 'x' })).toBeInstanceOf(EngineUnavailableError);
    expect(engineErrorFrom({ code: 'adapter_missing', message: 'x' })).toMatchObject({
      name: 'StorageError',
    });
  });

  it('classifies by type, never by name', () => {
    const named = Object.assign(new Error('looks like one'), { name: 'AdapterError' });
    expect(engineErrorOf(named).code).toBe('internal');
    expect(engineErrorOf(new AdapterError('bad')).code).toBe('adapter_invalid');
    expect(engineErrorOf(new InputTooLongError('long')).code).toBe('input_too_long');
    expect(engineErrorOf(new RangeError('maxTokens')).code).toBe('invalid_options');
    expect(engineErrorOf(new DOMException('gone', 'AbortError')).code).toBe('cancelled');
    expect(engineErrorOf(new EngineError('storage_timeout', 'slow')).code).toBe('storage_timeout');
    expect(engineErrorOf('a string')).toEqual({ code: 'internal', message: 'a string' });
  });

  it('a code outside the set comes back as internal', () => {
    const data = { code: 'nonsense', message: 'x' } as unknown as Parameters<typeof engineErrorFrom>[0];
    expect(engineErrorOf(engineErrorFrom(data)).code).toBe('internal');
  });
});
