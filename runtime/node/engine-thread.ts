// One engine in a worker thread (see engine-pool.ts): its own onnxruntime-web instance, the sessions of the base
// models it is pinned to, and their adapter caches, loading adapter files from storage itself (its loader: the
// requests carry plain references). Messages in: generate, score, prepare, cancel, forget. Messages out:
// ready, piece, done, error (a code: engine/errors.ts), metrics (after each request, and after a forget).
import { parentPort, workerData } from 'node:worker_threads';
import { openBlobStore } from '../../core/node/open.js';
import {
  Engine,
  engineErrorOf,
  StoreAdapterLoader,
  setSessionFactory,
  type TokenLogprob,
} from '../../engine/index.js';
import type { PoolRequest, ThreadMessage, ThreadSetup } from './engine-pool.js';
import { nativeSessions } from './native-runtime.js';

const port = parentPort;
if (!port) throw new Error('engine-thread.ts runs as a worker thread');
const setup = workerData as ThreadSetup;
const send = (m: ThreadMessage) => port.postMessage(m);
const store = openBlobStore(setup.storage);
if (setup.native) setSessionFactory(nativeSessions(setup.native.intraThreads));
const engine = await Engine.load(store, setup.bases, {
  loader: new StoreAdapterLoader(store),
  adapterCacheBytes: setup.adapterCacheBytes,
  ...setup.serving,
});
const running = new Map<number, AbortController>();
const PIECE_MS = 8;

function failed(id: number, e: unknown): void {
  send({ t: 'error', id, error: engineErrorOf(e) });
}

async function handle(m: PoolRequest): Promise<void> {
  if (m.t === 'forget') {
    await engine.forgetAdapters(m.prefix);
    send({ t: 'metrics', metrics: engine.metrics() }); // /metrics shows the cache without them at once
    return;
  }
  if (m.t === 'add-base') {
    await engine.addBase(m.base).then(
      () => send({ t: 'done', id: m.id, result: null }),
      (e) => failed(m.id, e),
    );
    return;
  }
  if (m.t === 'cancel') {
    running.get(m.id)?.abort(new DOMException('cancelled', 'AbortError'));
    return;
  }
  const stop = new AbortController();
  running.set(m.id, stop);
  try {
    if (m.t === 'generate') {
      const gen = engine.generate(m.prompt, {
        ...m.opts,
        base: m.base,
        adapters: m.adapters,
        signal: stop.signal,
      });
      if (m.stream) {
        // The first piece at once (time to first token), then what came within PIECE_MS in one message:
        // fewer messages for the HTTP thread to handle, a few milliseconds later at most.
        let held = '';
        let heldLogprobs: TokenLogprob[] | undefined;
        let sentAt = 0;
        const flush = () => {
          send({ t: 'piece', id: m.id, text: held, ...(heldLogprobs ? { logprobs: heldLogprobs } : {}) });
          held = '';
          heldLogprobs = undefined;
        };
        for await (const piece of gen) {
          held += piece.text;
          if (piece.logprobs) {
            heldLogprobs ??= [];
            heldLogprobs.push(...piece.logprobs);
          }
          const now = performance.now();
          if (sentAt === 0 || now - sentAt >= PIECE_MS) {
            flush();
            sentAt = now;
          }
        }
        if (held || heldLogprobs?.length) flush();
      }
      send({ t: 'done', id: m.id, result: await gen.result });
    } else if (m.t === 'score') {
      const results = await engine.score(m.texts, {
        base: m.base,
        ...(m.context !== undefined ? { context: m.context } : {}),
        ...(m.memory !== undefined ? { memory: m.memory } : {}),
        adapters: m.adapters,
      });
      send({ t: 'done', id: m.id, result: results });
    } else {
      await engine.prepareAdapters(m.adapters, { base: m.base });
      send({ t: 'done', id: m.id, result: null });
    }
  } catch (e) {
    failed(m.id, e);
  } finally {
    running.delete(m.id);
    send({ t: 'metrics', metrics: engine.metrics() });
  }
}

port.on('message', (m: PoolRequest) => void handle(m));
send({ t: 'ready', metrics: engine.metrics() });
