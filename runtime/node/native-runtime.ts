// The native lane: sessions on onnxruntime-node (MLAS kernels, intra-op threads) instead of onnxruntime-web's
// wasm build, for bases too large to decode fast on one wasm thread. Same graphs, same inputs, same Decoder: only
// where the session runs changes. Node only (TAILOR_ENGINE_RUNTIME=native); Workers and devices run wasm, and
// token-for-token parity between runtimes is promised only for the same runtime (float sums differ).
import * as ortNode from 'onnxruntime-node';
import type { SessionFactory } from '../../engine/index.js';

/** Sessions on onnxruntime-node with `intraOpThreads` threads each (one engine thread's share of the cores). */
export function nativeSessions(intraOpThreads: number): SessionFactory {
  return async (bytes) =>
    (await ortNode.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    })) as unknown as Awaited<ReturnType<SessionFactory>>;
}
