// Child process: transformers.js on its Node default runtime (onnxruntime-node, native, default threads),
// driven over IPC so the parent can interleave it with runs of its own. Messages in: { dir } once, then
// { ids, n } per generation, then { exit }; out: { ready, threads } then one PeerRun per generation.
import { availableParallelism } from 'node:os';
import { loadTransformersPeer, type TransformersPeer } from './transformers.js';

type Msg = { dir: string } | { ids: number[]; n: number } | { exit: true };

let peer: TransformersPeer | undefined;
const send = (m: unknown) => process.send?.(m);

process.on('message', async (m: Msg) => {
  try {
    if ('dir' in m) {
      peer = await loadTransformersPeer(m.dir, 'node');
      send({ ready: true, threads: availableParallelism() });
    } else if ('ids' in m) {
      if (!peer) throw new Error('not loaded');
      send({ run: await peer.generate(m.ids, m.n) });
    } else {
      process.disconnect?.();
    }
  } catch (e) {
    send({ error: String((e as Error)?.stack ?? e) });
  }
});
