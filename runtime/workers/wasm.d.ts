// A `.wasm` import in a Worker is a `CompiledWasm` module: the runtime compiled it at upload time and the
// default export is a `WebAssembly.Module` (workerd cannot compile wasm bytes at run time).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
