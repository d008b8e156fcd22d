// onnxruntime-web as Tailor's decoder configures it (one wasm thread), with the wasm files resolved from the
// installed package: transformers.js would otherwise point it at a CDN, and there is no network here.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ortWeb from 'onnxruntime-web';

export function configureOrtWeb(): void {
  ortWeb.env.wasm.numThreads = 1;
  if (!ortWeb.env.wasm.wasmPaths) {
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    ortWeb.env.wasm.wasmPaths = `${pathToFileURL(dist).href}/`;
  }
}
