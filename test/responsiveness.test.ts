// The server answers while it generates: four 512-token streams at once on Tailor's Node process, and
// /healthz asked every 50 ms meanwhile. With the engine in worker threads (the default) and on the HTTP thread
// (ENGINE_THREADS=0, where the decode loop yields between steps), /healthz stays well under a second: the bound
// is generous so it cannot flake on a busy machine; before, one answer took 12 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { ADMIN } from './support/platform.js';
import { parseSse } from './support/sse.js';

describe.each([
  ['worker threads', '2'],
  ['the HTTP thread', '0'],
])('with the engine on %s', (_, threads) => {
  let server: RunningServer;
  let dir: string;
  let key: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tailor-responsive-'));
    server = await startServer({
      TAILOR_DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      TAILOR_WORKER: '0',
      ENGINE_THREADS: threads,
      RATE_LIMIT_PER_USER_PER_MINUTE: '0',
    });
    const app = await fetch(`${server.url}/admin/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'busy' }),
    });
    key = (await app.json()).api_key;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz within a second while four long generations stream', async () => {
    let running = 4;
    const streams = Array.from({ length: 4 }, async (_, i) => {
      const res = await fetch(`${server.url}/v1/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          user: `u${i}`,
          prompt: 'Once upon a time',
          max_tokens: 512,
          seed: i,
          stream: true,
        }),
      });
      const events = parseSse(await res.text());
      running--;
      return events;
    });
    const latencies: number[] = [];
    while (running > 0) {
      const t0 = performance.now();
      const r = await fetch(`${server.url}/healthz`);
      await r.text();
      if (running > 0) latencies.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 50));
    }
    const done = await Promise.all(streams);
    for (const events of done) expect(events.at(-1)?.event).toBe('done');
    expect(latencies.length).toBeGreaterThan(5); // it measured while they ran
    expect(Math.max(...latencies)).toBeLessThan(1_000);
  }, 120_000);

  it('stops decoding soon after a client leaves a stream', async () => {
    const active = async () =>
      Number(
        /^tailor_generations_active (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1],
      );
    const leave = new AbortController();
    const res = await fetch(`${server.url}/v1/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'leaver', prompt: 'Once upon a time', max_tokens: 512, stream: true }),
      signal: leave.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first token arrived: it is decoding
    expect(await active()).toBe(1);
    leave.abort();
    const t0 = performance.now();
    let n = await active();
    while (n > 0 && performance.now() - t0 < 5_000) {
      await new Promise((r) => setTimeout(r, 20));
      n = await active();
    }
    expect(n).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1_000); // 512 tokens would take seconds
  }, 60_000);
});
