// Decoding is CPU work in the caller's thread (onnxruntime-web runs its wasm synchronously). Between steps the
// engine gives the event loop a turn, so other requests (/healthz, new requests, a client's disconnect, a
// cancel message to a worker thread) are served while generations run. setImmediate (Node) runs after I/O
// without a timer's minimum delay; elsewhere (workerd, browsers) a zero timeout.
const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
export const yieldToEventLoop: () => Promise<void> =
  typeof immediate === 'function'
    ? () => new Promise((resolve) => immediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));
