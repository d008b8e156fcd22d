// The engine's codes in the API's words: a fallback reason keeps the label each kind of failure always had
// (charts and `tailor_adapter_fallbacks_total{reason}` read them), and only messages that name the problem are
// shown.
import { describe, expect, it } from 'vitest';
import { AdapterError, EngineError, EngineUnavailableError, InputTooLongError } from '../../engine/index.js';
import { engineAnswer, fallbackOf, isInputRefused, streamErrorOf } from './engine-errors.js';

describe('engine errors over HTTP', () => {
  it('a fallback reason by code, with the labels of before; anything else hides its message', () => {
    const cases: [Error, string][] = [
      [new AdapterError('adapter_config.json: r 0'), 'AdapterError'],
      [new EngineError('adapter_missing', 'adapter files missing under p/'), 'StorageError'],
      [new EngineError('storage_unavailable', 'storage did not answer'), 'StorageUnavailable'],
      [new EngineError('storage_timeout', 'did not load within 5 ms'), 'StorageTimeout'],
      [new EngineError('model_invalid', 'model.onnx is missing'), 'ModelPackageError'],
    ];
    for (const [e, label] of cases)
      expect(fallbackOf(e)).toEqual({ code: label, reason: `${label}: ${e.message}` });
    const hidden = { code: 'LoadError', reason: 'LoadError: the adapter could not be loaded' };
    expect(fallbackOf(new TypeError('/srv/secret/path is not a function'))).toEqual(hidden);
    expect(fallbackOf(Object.assign(new Error('/srv/x'), { name: 'AdapterError' }))).toEqual(hidden);
  });

  it('no engine: 503 with Retry-After; a text too long: 422; everything else is left to the generic 500', () => {
    expect(engineAnswer(new EngineUnavailableError('a thread stopped; retry'))).toEqual({
      status: 503,
      code: 'unavailable',
      message: 'a thread stopped; retry',
      headers: { 'retry-after': '1' },
    });
    expect(engineAnswer(new InputTooLongError('text 0 has 300 tokens'))).toMatchObject({ status: 422 });
    expect(engineAnswer(new AdapterError('bad'))).toBeUndefined();
    expect(engineAnswer(new RangeError('not the engine’s'))).toBeUndefined();
    expect(isInputRefused(new RangeError('maxTokens'))).toBe(true);
  });

  it('a stream’s error event shows the message only for no engine and refused input', () => {
    expect(streamErrorOf(new EngineUnavailableError('retry'))).toEqual({
      code: 'unavailable',
      message: 'retry',
    });
    expect(streamErrorOf(new InputTooLongError('memory has 200 tokens'))).toEqual({
      code: 'internal',
      message: 'memory has 200 tokens',
    });
    expect(streamErrorOf(new AdapterError('p/: bad'))).toEqual({
      code: 'internal',
      message: 'generation failed',
    });
  });
});
