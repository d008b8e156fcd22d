// onnxruntime-web on Cloudflare Workers (workerd). workerd refuses to compile WebAssembly from bytes at run
// time (`WebAssembly.compile`/`instantiate(bytes)` throw: code generation is disallowed); it only runs
// modules compiled at upload time, which a Worker imports as `CompiledWasm` modules
// (`import wasm from './x.wasm'` → a `WebAssembly.Module`). ORT, through emscripten, always wants to
// instantiate from bytes. So:
//
//   - `ort.env.wasm.wasmBinary` is set to a small stand-in, the 8 bytes `tailor!\0`, so that ORT neither
//     fetches nor imports its .wasm and hands those bytes to `WebAssembly.instantiate(bytes, imports)`;
//   - `WebAssembly.instantiate` is wrapped: called with bytes equal to the stand-in, it instantiates the
//     precompiled module instead and answers `{ instance, module }` as the bytes overload does; every
//     other call passes through untouched. Emscripten copies the buffer (`new Uint8Array(...)`), so the
//     stand-in is matched by content, not identity.
//   - one thread (`numThreads = 1`): no SharedArrayBuffer/Worker threads in workerd; no proxy worker.
//
// The module must be the very build ORT's JS glue expects: `onnxruntime-web/ort-wasm-simd-threaded.wasm`
// of the same onnxruntime-web version, with ORT imported as `onnxruntime-web/wasm` (the default export is
// the JSEP/WebGPU build, which needs `ort-wasm-simd-threaded.jsep.wasm`). `infra/workers/build.ts` bundles
// a Worker that way; `install-ort-wasm.ts` imports the module and calls `installOrtWasm` for an entry.
import * as ort from 'onnxruntime-web';

/** The stand-in wasm bytes, `tailor!\0`: not a wasm module (no `\0asm` magic), so never mistaken for one. */
export const ORT_WASM_STAND_IN: Readonly<Uint8Array> = new Uint8Array([
  0x74, 0x61, 0x69, 0x6c, 0x6f, 0x72, 0x21, 0x00,
]);

interface HookState {
  module: WebAssembly.Module;
  instance: WebAssembly.Instance | null;
  imports: WebAssembly.Imports | null;
}

// On globalThis, keyed by a registered symbol: two copies of this file in one isolate share one hook.
const STATE = Symbol.for('tailor.ortWasmHook');
type GlobalWithHook = typeof globalThis & { [STATE]?: HookState };

function isStandIn(source: unknown): boolean {
  let bytes: Uint8Array | null = null;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source))
    bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (!bytes || bytes.length !== ORT_WASM_STAND_IN.length) return false;
  return bytes.every((b, i) => b === ORT_WASM_STAND_IN[i]);
}

/**
 * Makes onnxruntime-web instantiate `module` (the precompiled `ort-wasm-simd-threaded.wasm`) instead of
 * compiling wasm bytes. Call it before the first `InferenceSession.create` (module top level is fine: it
 * does no I/O). Idempotent: calling it again with the same module does nothing; with another module it
 * throws, since ORT initialises its wasm once per isolate.
 */
export function installOrtWasm(module: WebAssembly.Module): void {
  const g = globalThis as GlobalWithHook;
  const existing = g[STATE];
  if (existing) {
    if (existing.module !== module)
      throw new Error('installOrtWasm: a different onnxruntime-web wasm module is already installed');
    return;
  }
  const state: HookState = { module, instance: null, imports: null };
  g[STATE] = state;

  const original = WebAssembly.instantiate;
  const instantiate = (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (isStandIn(source)) {
      return original.call(WebAssembly, state.module, imports).then((instance) => {
        state.instance = instance;
        state.imports = imports ?? null;
        return { instance, module: state.module };
      });
    }
    return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>).call(
      WebAssembly,
      source,
      imports,
    );
  };
  WebAssembly.instantiate = instantiate as typeof WebAssembly.instantiate;

  ort.env.wasm.wasmBinary = ORT_WASM_STAND_IN.slice();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

/** Whether `installOrtWasm` has run in this isolate. */
export function ortWasmInstalled(): boolean {
  return (globalThis as GlobalWithHook)[STATE] !== undefined;
}

/**
 * Bytes of ORT's wasm linear memory once it is instantiated (null before): the model's weights and the
 * arena live there, and it counts against a Worker's 128 MB memory limit.
 */
export function ortWasmMemoryBytes(): number | null {
  const s = (globalThis as GlobalWithHook)[STATE];
  if (!s?.instance) return null;
  const candidates: unknown[] = [...Object.values(s.instance.exports)];
  for (const ns of Object.values(s.imports ?? {})) candidates.push(...Object.values(ns));
  const memory = candidates.find((v) => v instanceof WebAssembly.Memory) as WebAssembly.Memory | undefined;
  return memory ? memory.buffer.byteLength : null;
}
