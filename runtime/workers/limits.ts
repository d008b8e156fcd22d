// Defaults sized for a Worker's isolate (128 MB, wasm heap included), where the Node defaults do not fit:
// onnxruntime-web's heap holds the model (70.7 MiB measured with a batch of 8 at a full window, see
// workerd.test.ts), so the adapter cache gets 16 MiB (about 28 rank-8 users per isolate) and a run decodes at
// most 8 generations; requests without a LoRA run the LoRA graph at rank 0 rather than a second session, and
// no user gets a merged session. Variables set on the Worker override them.
export const WORKERS_DEFAULTS = {
  ADAPTER_CACHE_MB: '16',
  TAILOR_MAX_BATCH: '8',
  // A second session (the graph without LoRA inputs, lanes.ts) holds the weights again: ~20 MB more.
  TAILOR_BASE_ONLY_GRAPH: '0',
  TAILOR_MERGE_HOT: '0',
  // An isolate cannot LISTEN: each request looks at the invalidation feed when the last look is this old.
  TAILOR_INVALIDATION_POLL_MS: '2000',
} as const;

/** The isolate's memory limit on Cloudflare Workers. */
export const ISOLATE_LIMIT_BYTES = 128 * 1024 * 1024;

/**
 * The largest base graph an isolate serves. Measured: the shipped base's 20.3 MB graph takes 70.7 MiB of wasm
 * heap (about 3.5× the graph); beside 16 MiB of adapters and ~24 MiB of JS that leaves 88 MiB of heap, so a
 * graph of at most ~25 MB. Every imported base of a real size is far above it (SmolLM2-135M's: 652 MB, a 2.3 GB
 * session): those are served by the Node runtime, and a request naming one here is refused with this arithmetic.
 */
export const WORKERS_BASE_LIMIT = {
  maxGraphBytes: 25 * 1000 * 1000,
  why: 'a Workers isolate has 128 MB: a session takes about 3.5× its graph (the shipped base: 20 MB of graph, 71 MB of wasm heap), beside 16 MB of adapters and ~24 MB of JS',
};
