// One engine in a worker thread (see engine-pool.ts): its own onnxruntime-web instance, model session and
// adapter cache, loading adapter files from storage itself. Messages in: generate, score, prepare, cancel.
// Messages out: ready, piece, done, error, metrics (after each request, and after a forget).
import { parentPort, workerData } from 'node:worker_threads';
import { readAdapterFiles } from '../../core/adapters/publish.js';
import { openBlobStore } from '../../core/node/open.js';
import { type AdapterRef, Engine } from '../../engine/engine.js';
import type { TokenLogprob } from '../../engine/logprobs.js';
import type { PoolRequest, ThreadMessage, ThreadSetup, WireAdapter } from './engine-pool.js';

const port = parentPort;
if (!port) throw new Error('engine-thread.ts runs as a worker thread');
const setup = workerData as ThreadSetup;
const send = (m: ThreadMessage) => port.postMessage(m);
const store = openBlobStore(setup.storage);
const engine = await Engine.load(store, setup.modelPrefix, {
  adapterCacheBytes: setup.adapterCacheBytes,
  ...setup.serving,
});
const running = new Map<number, AbortController>();
const PIECE_MS = 8;

const refs = (adapters: WireAdapter[]): AdapterRef[] =>
  adapters.map((a) => ({
    key: a.key,
    weight: a.weight,
    load: () => readAdapterFiles(store, a.prefix, a.baseModel ? { baseModel: a.baseModel } : {}),
  }));

function failed(id: number, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ t: 'error', id, error: { name: err.name, message: err.message } });
}

async function handle(m: PoolRequest): Promise<void> {
  if (m.t === 'forget') {
    await engine.forgetAdapters(m.prefix);
    send({ t: 'metrics', metrics: engine.metrics() }); // /metrics shows the cache without them at once
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
      const gen = engine.generate(m.prompt, { ...m.opts, adapters: refs(m.adapters), signal: stop.signal });
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
        ...(m.context !== undefined ? { context: m.context } : {}),
        ...(m.memory !== undefined ? { memory: m.memory } : {}),
        adapters: refs(m.adapters),
      });
      send({ t: 'done', id: m.id, result: results });
    } else {
      await engine.prepareAdapters(refs(m.adapters));
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
