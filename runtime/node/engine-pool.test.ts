// The engine pool against the engine in this thread, on the shipped model: the same texts, pieces and scores
// for the same seeds and adapters; one load per adapter set; cancellation within a step; a crashed thread
// replaced, its requests failed, never left hanging.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../../core/adapters/package.js';
import { publishBaseModel } from '../../core/node/base-model.js';
import { FileStore } from '../../core/node/file-store.js';
import { openPglite } from '../../core/node/pglite.js';
import { MODELS_DIR } from '../../core/node/repo.js';
import { type AdapterRef, Engine, EngineUnavailableError, type Generation } from '../../engine/index.js';
import { randomAdapter } from '../../engine/testing.js';
import { EnginePool } from './engine-pool.js';

let root: string;
let pool: EnginePool;
let local: Engine;

const PREFIX = 'models/brown-4m/';
const BASE = 'brown-4m';

async function collect(gen: Generation) {
  const pieces: string[] = [];
  for await (const p of gen) pieces.push(p.text);
  return { pieces, result: await gen.result };
}

const ref = (user: string, weight = 1): AdapterRef => ({
  base: BASE,
  key: `adapters/app/${user}/v1/`,
  kind: 'user',
  weight,
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tailor-pool-'));
  const store = new FileStore(root);
  const db = await openPglite();
  const { migrate } = await import('../../core/db/migrate.js');
  await migrate(db.db);
  await publishBaseModel(store, db.db, MODELS_DIR, 'brown-4m');
  await db.close();
  local = await Engine.load(store, PREFIX);
  for (const [i, user] of ['ann', 'bob', 'cal', 'dan'].entries()) {
    const files = randomAdapter(local.model(BASE).shape, {
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj', 'down_proj'],
      seed: i + 1,
      scale: 0.3,
    });
    await store.put(`adapters/app/${user}/v1/${ADAPTER_CONFIG}`, files.config);
    await store.put(`adapters/app/${user}/v1/${ADAPTER_WEIGHTS}`, files.weights);
  }
  pool = await EnginePool.start({
    threads: 2,
    store,
    storage: { driver: 'file', root },
    bases: [{ id: BASE, prefix: PREFIX }],
    adapterCacheBytes: 32 << 20,
  });
}, 120_000);

afterAll(async () => {
  await pool?.close();
});

/** The in-thread engine loads the same files the pool's threads read from storage (its loader: the store's). */
const localRef = ref;

describe('EnginePool', () => {
  it('generates what the engine in this thread generates, for the same seed and adapters', async () => {
    for (const [adapters, lref] of [
      [[], []],
      [[ref('ann')], [localRef('ann')]],
      [
        [ref('ann'), ref('bob', 0.5)],
        [localRef('ann'), localRef('bob', 0.5)],
      ],
    ] as const) {
      const opts = { maxTokens: 24, seed: 11, stop: ['\n\n'] };
      const a = await collect(
        pool.generate('The detective opened the door and', { base: BASE, ...opts, adapters, affinity: 'r' }),
      );
      const b = await collect(
        local.generate('The detective opened the door and', { base: BASE, ...opts, adapters: lref }),
      );
      // A thread sends what came within a few milliseconds as one piece: pieces may join, never split.
      expect(a.pieces.join('')).toBe(b.pieces.join(''));
      let at = 0;
      for (const piece of a.pieces) {
        let joined = '';
        while (joined.length < piece.length) joined += b.pieces[at++] as string;
        expect(joined).toBe(piece);
      }
      const { timings: _a, ...ra } = a.result;
      const { timings: _b, ...rb } = b.result;
      expect(ra).toEqual(rb);
      expect(a.result.seed).toBe(11);
    }
  });

  it('scores what the engine in this thread scores', async () => {
    const texts = ['It was a dark and stormy night.', 'zq xv qqq'];
    const a = await pool.score(texts, { base: BASE, context: 'She said', adapters: [ref('cal')] });
    const b = await local.score(texts, { base: BASE, context: 'She said', adapters: [localRef('cal')] });
    for (const [i, r] of a.entries()) expect(r.nll).toBeCloseTo((b[i] as (typeof b)[number]).nll, 4);
  });

  it('loads an adapter set once: the same affinity goes to the same thread, unless that one is busier', async () => {
    const loads = async () => {
      await new Promise((r) => setTimeout(r, 50)); // the threads' metrics arrive after each answer
      return pool.metrics().adapterCache.loads;
    };
    const before = await loads();
    const affinity = 'adapters/app/dan/v1/*1';
    for (let i = 0; i < 4; i++) await pool.score(['x'], { base: BASE, adapters: [ref('dan')], affinity });
    for (let i = 0; i < 4; i++)
      await pool.generate('x', { base: BASE, maxTokens: 2, adapters: [ref('dan')], affinity }).result;
    expect((await loads()) - before).toBe(1);
    // A burst spills over to the idle thread, which loads the set too: at most once per thread.
    const burst = await loads();
    await Promise.all(
      Array.from({ length: 6 }, () => pool.score(['x'], { base: BASE, adapters: [ref('dan')], affinity })),
    );
    expect((await loads()) - burst).toBeLessThanOrEqual(1);
  });

  it('reports a thread’s errors as the engine would: a RangeError for a text too long, a StorageError for missing files', async () => {
    await expect(pool.score(['word '.repeat(400)], { base: BASE })).rejects.toBeInstanceOf(RangeError);
    const missing = ref('nobody');
    const err = await pool.prepareAdapters([missing], { base: BASE, affinity: 'nobody' }).catch((e) => e);
    expect(err.name).toBe('StorageError');
  });

  it('serves the bases its threads are pinned to; a ref for another base is refused in the thread, by code', async () => {
    expect(pool.bases().map((b) => b.id)).toEqual([BASE]);
    expect(() => pool.model('other-base')).toThrow(expect.objectContaining({ code: 'unknown_base' }));
    const foreign = { ...ref('ann'), base: 'other-base' };
    await expect(pool.prepareAdapters([foreign], { base: BASE })).rejects.toMatchObject({
      code: 'unknown_base',
      message: expect.stringMatching(/made for base model other-base/),
    });
  });

  it('stops decoding within a step when the caller aborts or stops reading', async () => {
    const stop = new AbortController();
    const gen = pool.generate('Once upon a time', {
      base: BASE,
      maxTokens: 512,
      signal: stop.signal,
      affinity: 'long',
    });
    const t0 = performance.now();
    for await (const _ of gen) {
      stop.abort(new DOMException('gone', 'AbortError'));
      break;
    }
    await expect(gen.result).rejects.toMatchObject({ name: 'AbortError' });
    for (let i = 0; i < 100 && pool.metrics().generationsActive > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(pool.metrics().generationsActive).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('fails the requests of a crashed thread, replaces it, and keeps serving', async () => {
    const gen = pool.generate('Once upon a time', { base: BASE, maxTokens: 512, affinity: 'crash-me' });
    const it = gen[Symbol.asyncIterator]();
    await it.next(); // it is running
    const busy = pool.load().findIndex((n) => n > 0);
    expect(busy).toBeGreaterThanOrEqual(0);
    await pool.crash(busy);
    await expect(gen.result).rejects.toBeInstanceOf(EngineUnavailableError);
    // the other thread answers meanwhile, and the replacement joins
    expect((await pool.generate('x', { base: BASE, maxTokens: 2 }).result).completionTokens).toBeGreaterThan(
      0,
    );
    for (let i = 0; i < 600 && pool.readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pool.readyThreads()).toBe(2);
    const ok = await Promise.all(
      Array.from(
        { length: 4 },
        (_, i) => pool.generate('x', { base: BASE, maxTokens: 2, affinity: `r${i}` }).result,
      ),
    );
    expect(ok).toHaveLength(4);
    expect(pool.restarts).toBe(1);
  }, 60_000);
});
