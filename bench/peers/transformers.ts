// transformers.js (@huggingface/transformers v4) generating greedily from the base-only export, on either
// runtime: 'web' = onnxruntime-web handed over through the global Symbol.for('onnxruntime') (it must be in
// place before transformers.js is first imported, so the import is dynamic), 'node' = its Node default,
// onnxruntime-node (native). A process can only hold one of the two: the 'node' peer runs in a child.
import { basename, dirname } from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { configureOrtWeb } from './ort-web.js';

export interface PeerRun {
  /** Wall time of the generate() call. */
  ms: number;
  /** From the call to the first generated token (the streamer's second put: the first is the prompt). */
  firstMs: number;
  /** The generated ids (prompt excluded). */
  ids: number[];
}

export interface TransformersPeer {
  runtime: 'web' | 'node';
  generate(promptIds: number[], newTokens: number): Promise<PeerRun>;
}

let imported: 'web' | 'node' | null = null;

/** Loads the model folder `dir` (transformers.js layout) from disk only: remote models are disabled. */
export async function loadTransformersPeer(dir: string, runtime: 'web' | 'node'): Promise<TransformersPeer> {
  if (imported && imported !== runtime)
    throw new Error(`transformers.js is already bound to onnxruntime-${imported} in this process`);
  const sym = Symbol.for('onnxruntime');
  if (runtime === 'web') {
    configureOrtWeb();
    (globalThis as Record<symbol, unknown>)[sym] = ortWeb;
  } else if (sym in globalThis) {
    throw new Error('onnxruntime-web is installed as transformers.js backend in this process');
  }
  imported = runtime;
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = `${dirname(dir)}/`;
  // With an injected runtime transformers.js lists no devices at all; 'auto' is the one value that then
  // passes its device check, and the execution provider is named explicitly.
  const model = await tf.AutoModelForCausalLM.from_pretrained(basename(dir), {
    dtype: 'fp32',
    ...(runtime === 'web' ? { device: 'auto', session_options: { executionProviders: ['wasm'] } } : {}),
  });

  return {
    runtime,
    async generate(promptIds, newTokens) {
      const n = promptIds.length;
      const input_ids = new tf.Tensor('int64', BigInt64Array.from(promptIds, BigInt), [1, n]);
      const attention_mask = new tf.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
      let puts = 0;
      let firstAt = 0;
      const t0 = performance.now();
      const streamer = new (class extends tf.BaseStreamer {
        override put(): void {
          if (++puts === 2) firstAt = performance.now();
        }
        override end(): void {}
      })();
      const out = (await model.generate({
        input_ids,
        attention_mask,
        max_new_tokens: newTokens,
        min_new_tokens: newTokens,
        do_sample: false,
        streamer,
      } as unknown as Parameters<typeof model.generate>[0])) as InstanceType<typeof tf.Tensor>;
      const ms = performance.now() - t0;
      const all = Array.from(out.data as BigInt64Array, Number);
      return { ms, firstMs: firstAt - t0, ids: all.slice(n) };
    },
  };
}
