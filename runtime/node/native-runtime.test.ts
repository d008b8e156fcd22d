// The native lane computes what the wasm one does: the shipped graph's logits on onnxruntime-node equal
// onnxruntime-web's to float rounding, and an engine on it generates.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../core/node/file-store.js';
import { Engine, loadModelPackage, type ModelPackage, setSessionFactory } from '../../engine/index.js';
import { nativeSessions } from './native-runtime.js';

const root = resolve(import.meta.dirname, '../..');
let wasm: ModelPackage;
let native: ModelPackage;
/** Sessions the native factory made: the package's came from it, not from onnxruntime-web. */
let made = 0;

beforeAll(async () => {
  wasm = await loadModelPackage(new FileStore(root), 'models/brown-4m');
  const sessions = nativeSessions(2);
  setSessionFactory((bytes) => {
    made++;
    return sessions(bytes);
  });
  try {
    native = await loadModelPackage(new FileStore(root), 'models/brown-4m'); // another store: another load
  } finally {
    setSessionFactory(null);
  }
}, 60_000);
afterAll(() => setSessionFactory(null));

describe('the native lane', () => {
  it('gives the wasm lane’s logits to float rounding, and an engine on it generates', async () => {
    expect(made).toBe(1);
    const ids = [wasm.tokenizer.bosId, ...wasm.tokenizer.encode('The old man walked slowly down the road')];
    const [a, b] = await Promise.all([wasm.decoder.run({ ids: [ids] }), native.decoder.run({ ids: [ids] })]);
    let diff = 0;
    for (let i = 0; i < a.logits.length; i++)
      diff = Math.max(diff, Math.abs((a.logits[i] as number) - (b.logits[i] as number)));
    expect(diff).toBeLessThan(1e-3);
    const engine = new Engine(native);
    const r = await engine.generate('Once upon a time', { base: 'brown-4m', maxTokens: 8, temperature: 0 })
      .result;
    expect(r.completionTokens).toBeGreaterThan(0);
  });
});
