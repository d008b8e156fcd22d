// Imported for its effect by every Workers entry (engine-worker.ts, app-worker.ts), first: binds
// onnxruntime-web to the precompiled `ort-wasm-simd-threaded.wasm`. The bundler (infra/workers/build.ts)
// keeps the .wasm import as a sibling file the runtime loads as a `CompiledWasm` module. Never import this
// file on Node: Node loads ORT's wasm itself.
import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { installOrtWasm } from './ort-wasm.js';

installOrtWasm(ortWasmModule);
