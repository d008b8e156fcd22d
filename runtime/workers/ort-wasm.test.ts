// The wasm hook on its own, in Node (the workerd run is workerd.test.ts): stand-in bytes instantiate the
// installed module, everything else passes through, and installing is idempotent. It patches globals, so
// it lives in its own test file (vitest runs each file in its own process here).
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { installOrtWasm, ORT_WASM_STAND_IN, ortWasmInstalled, ortWasmMemoryBytes } from './ort-wasm.js';

// (module (memory (export "memory") 2))
const withMemory = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x02, 0x07, 0x0a, 0x01, 0x06, 0x6d,
  0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00,
]);
const empty = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe('installOrtWasm', () => {
  it('answers the stand-in bytes with the precompiled module, passes other calls through, once', async () => {
    const module = await WebAssembly.compile(withMemory);
    expect(ortWasmInstalled()).toBe(false);
    const original = WebAssembly.instantiate;
    installOrtWasm(module);
    installOrtWasm(module); // idempotent: the same module again changes nothing
    expect(ortWasmInstalled()).toBe(true);
    const patched = WebAssembly.instantiate;
    expect(patched).not.toBe(original);
    expect(ort.env.wasm.numThreads).toBe(1);
    expect(new Uint8Array(ort.env.wasm.wasmBinary as Uint8Array)).toEqual(ORT_WASM_STAND_IN);

    expect(ortWasmMemoryBytes()).toBeNull();
    // Emscripten copies the binary before instantiating: a copy (and a plain ArrayBuffer) must match too.
    const viaCopy = await WebAssembly.instantiate(ORT_WASM_STAND_IN.slice(), {});
    expect(viaCopy.module).toBe(module);
    expect(viaCopy.instance.exports.memory).toBeInstanceOf(WebAssembly.Memory);
    const viaBuffer = await WebAssembly.instantiate(ORT_WASM_STAND_IN.slice().buffer, {});
    expect(viaBuffer.module).toBe(module);
    expect(ortWasmMemoryBytes()).toBe(2 * 65536);

    // Real wasm bytes and a module still take the ordinary paths.
    const other = await WebAssembly.instantiate(empty);
    expect(other.module).not.toBe(module);
    const inst = await WebAssembly.instantiate(other.module);
    expect(inst).toBeInstanceOf(WebAssembly.Instance);

    expect(() => installOrtWasm(other.module)).toThrow(/different onnxruntime-web wasm module/);
    expect(WebAssembly.instantiate).toBe(patched);
  });
});
