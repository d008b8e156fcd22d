// The signed-file route (GET /v1/files/...) as devices use it: it streams (Range, 304 by ETag) and never reads
// a file whole, checks links against the digests recorded at publish (a republished file answers 410 without
// being hashed), and limits each link and each client address. Requests come "from a socket" (the bindings
// @hono/node-server passes), a fresh address per test unless a test shares one on purpose.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishAdapter } from '../../core/adapters/publish.js';
import { MODELS_DIR } from '../../core/node/repo.js';
import type { BlobStore } from '../../core/storage/store.js';
import { randomAdapter } from '../../engine/testing.js';
import { startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { downloadLink } from '../http/download-links.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Link = { name: string; url: string; sha256: string; size: number };
const path = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** A request as @hono/node-server hands it over: from a socket with this peer address. */
const fromAddress = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
let addresses = 0;
/** A fresh client address per call, so one test's requests do not spend another's limit. */
const newAddress = () => `10.0.${Math.floor(++addresses / 250)}.${addresses % 250}`;

async function download(link: Link, headers: Record<string, string> = {}, address = newAddress()) {
  const res = await p.app.request(`http://localhost${path(link.url)}`, { headers }, fromAddress(address));
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('devices');
  // A version published before manifests recorded digests: a tailor.json without `files`.
  const prefix = await p.activeAdapter(app.app_id, 'reader', 'v1', 3);
  await p.store.put(`${prefix}tailor.json`, new TextEncoder().encode('{"format":"tailor-adapter/1"}'));
}, 60_000);
afterAll(() => p.close());

const URL_SECRET = 'url-secret-in-process'; // what runtime/node/in-process.ts signs with
const MODEL = 'models/brown-4m/';
const shipped = (name: string) => new Uint8Array(readFileSync(join(MODELS_DIR, 'brown-4m', name)));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

let signed = 0;
/** Signs with the route's own links: the memory store's data: URLs would copy the file (seconds for 20 MB). */
const unsigning = {
  signedUrl: () => Promise.reject(new Error('no URLs of its own')),
} as unknown as BlobStore;
/** A link to `key` with an expiry of its own, so its own signature: a link's limit starts afresh. */
async function linkTo(key: string, sha256: string): Promise<Link> {
  const now = p.services.now();
  const { url } = await downloadLink(
    unsigning,
    URL_SECRET,
    'http://localhost',
    key,
    3600 + ++signed,
    now,
    sha256,
  );
  return { name: key.slice(key.lastIndexOf('/') + 1), url, sha256, size: -1 };
}

/** While `run` runs: whole reads of `key` from the store, and SHA-256 digests of over 1 MiB. */
async function readsOf(key: string, run: () => Promise<void>): Promise<{ gets: number; bigDigests: number }> {
  const get = vi.spyOn(p.store, 'get');
  const digest = vi.spyOn(crypto.subtle, 'digest');
  try {
    await run();
    return {
      gets: get.mock.calls.filter(([k]) => k === key).length,
      bigDigests: digest.mock.calls.filter(([, data]) => (data as ArrayBufferView).byteLength > 1 << 20)
        .length,
    };
  } finally {
    get.mockRestore();
    digest.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('the signed-file route streams', () => {
  const onnx = shipped('model.onnx');

  it('answers a Range of the 20 MB model with 206 and exactly those bytes; a suffix, an open end; 416 past the end', async () => {
    const link = await linkTo(`${MODEL}model.onnx`, sha(onnx));
    const mid = await download(link, { range: 'bytes=1000-1999' });
    expect(mid.res.status).toBe(206);
    expect(mid.res.headers.get('content-range')).toBe(`bytes 1000-1999/${onnx.length}`);
    expect(mid.res.headers.get('content-length')).toBe('1000');
    expect(mid.res.headers.get('accept-ranges')).toBe('bytes');
    expect(mid.res.headers.get('etag')).toBe(`"${link.sha256}"`);
    expect(mid.res.headers.get('access-control-expose-headers')).toMatch(/content-range/);
    expect(same(mid.bytes, onnx.subarray(1000, 2000))).toBe(true);
    const tail = await download(link, { range: 'bytes=-100' });
    expect(tail.res.status).toBe(206);
    expect(same(tail.bytes, onnx.subarray(onnx.length - 100))).toBe(true);
    const open = await download(link, { range: `bytes=${onnx.length - 10}-` });
    expect(open.res.headers.get('content-range')).toBe(
      `bytes ${onnx.length - 10}-${onnx.length - 1}/${onnx.length}`,
    );
    expect(same(open.bytes, onnx.subarray(onnx.length - 10))).toBe(true);
    const past = await download(link, { range: `bytes=${onnx.length}-` });
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get('content-range')).toBe(`bytes */${onnx.length}`);
    expect(past.res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers several ranges, or a Range for another version (If-Range), with the whole file', async () => {
    const config = shipped('config.json');
    const link = await linkTo(`${MODEL}config.json`, sha(config));
    const several = await download(link, { range: 'bytes=0-0,5-9' });
    expect(several.res.status).toBe(200);
    expect(same(several.bytes, config)).toBe(true);
    const stale = await download(link, { range: 'bytes=0-9', 'if-range': `"${'0'.repeat(64)}"` });
    expect(stale.res.status).toBe(200);
    expect(stale.bytes.length).toBe(config.length);
    const current = await download(link, { range: 'bytes=0-9', 'if-range': `"${link.sha256}"` });
    expect(current.res.status).toBe(206);
  });

  it('answers HEAD with the headers a GET would have, opening no stream', async () => {
    const link = await linkTo(`${MODEL}model.onnx`, sha(onnx));
    const streams = vi.spyOn(p.store, 'getStream');
    const url = `http://localhost${path(link.url)}`;
    const whole = await p.app.request(url, { method: 'HEAD' }, fromAddress(newAddress()));
    const part = await p.app.request(
      url,
      { method: 'HEAD', headers: { range: 'bytes=0-9' } },
      fromAddress(newAddress()),
    );
    expect([whole.status, whole.headers.get('content-length')]).toEqual([200, String(onnx.length)]);
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 0-9/${onnx.length}`]);
    expect(streams).not.toHaveBeenCalled();
  });

  it('answers If-None-Match naming its ETag with 304 and no body; another ETag gets the file', async () => {
    const config = shipped('config.json');
    const link = await linkTo(`${MODEL}config.json`, sha(config));
    for (const tag of [`"${link.sha256}"`, `W/"${link.sha256}"`, `"other", "${link.sha256}"`, '*']) {
      const { res, bytes } = await download(link, { 'if-none-match': tag });
      expect(res.status, tag).toBe(304);
      expect(bytes.length).toBe(0);
      expect(res.headers.get('etag')).toBe(`"${link.sha256}"`);
      expect(res.headers.get('cache-control')).toMatch(/immutable/);
    }
    const other = await download(link, { 'if-none-match': '"other"' });
    expect(other.res.status).toBe(200);
    expect(same(other.bytes, config)).toBe(true);
  });

  it('serves parallel downloads of the 20 MB model without any reading it whole: each holds a chunk', async () => {
    const N = 24;
    const key = `${MODEL}model.onnx`;
    const links = await Promise.all(Array.from({ length: N }, () => linkTo(key, sha(onnx))));
    let held = 0;
    let longest = 0;
    const { gets, bigDigests } = await readsOf(key, async () => {
      const before = process.memoryUsage().arrayBuffers;
      const answers = await Promise.all(
        links.map((l, i) => p.app.request(`http://localhost${path(l.url)}`, {}, fromAddress(`10.8.0.${i}`))),
      );
      const readers = answers.map((r) => (r.body as ReadableStream<Uint8Array>).getReader());
      const firsts = await Promise.all(readers.map((r) => r.read()));
      held = process.memoryUsage().arrayBuffers - before;
      longest = Math.max(...firsts.map((f) => (f.value as Uint8Array).length));
      // One of them read to the end: every byte, in order.
      const hash = createHash('sha256').update(firsts[0]?.value as Uint8Array);
      for (let r = await readers[0]?.read(); r && !r.done; r = await readers[0]?.read()) hash.update(r.value);
      expect(hash.digest('hex')).toBe(sha(onnx));
      await Promise.all(readers.slice(1).map((r) => r.cancel()));
    });
    expect(gets).toBe(0);
    expect(bigDigests).toBe(0);
    // Whole copies would be N × 20 MB; chunks are 64 KiB each.
    expect(held).toBeLessThan(64 * 2 ** 20);
    expect(longest).toBeLessThan(onnx.length);
  });

  it('answers 410 to an old link once the model is republished (new bytes, marker updated), without reading or hashing the file', async () => {
    const key = `${MODEL}model.onnx`;
    const markerKey = `${MODEL}tailor-package.json`;
    const old = await linkTo(key, sha(onnx));
    const changed = onnx.slice();
    changed[12345] = (changed[12345] as number) ^ 0xff; // the same size: only the record tells them apart
    const markerBefore = (await p.store.get(markerKey)) as Uint8Array;
    const marker = JSON.parse(new TextDecoder().decode(markerBefore));
    marker.digests['model.onnx'] = { sha256: sha(changed), size: changed.length };
    await p.store.put(key, changed);
    await p.store.put(markerKey, new TextEncoder().encode(JSON.stringify(marker)));
    try {
      const answers: Response[] = [];
      const { gets, bigDigests } = await readsOf(key, async () => {
        for (let i = 0; i < 3; i++) answers.push((await download(old)).res);
      });
      expect(gets).toBe(0);
      expect(bigDigests).toBe(0);
      expect(answers.map((r) => r.status)).toEqual([410, 410, 410]);
      expect(answers[0]?.headers.get('access-control-allow-origin')).toBe('*');
      // The listing names the new bytes, and their link serves them.
      const r = await p.call('GET', '/v1/models/brown-4m/files', { key: app.api_key });
      const fresh = (r.json.files as Link[]).find((f) => f.name === 'model.onnx') as Link;
      expect(fresh.sha256).toBe(sha(changed));
      const { res, bytes } = await download(fresh, { range: 'bytes=12345-12345' });
      expect(res.status).toBe(206);
      expect(bytes[0]).toBe(changed[12345]);
    } finally {
      await p.store.put(key, onnx);
      await p.store.put(markerKey, markerBefore);
    }
  });
});

describe('adapter packages record their files', () => {
  it("publish records each file's SHA-256 and size in tailor.json; listing and downloading read neither file", async () => {
    const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
      r: 2,
      alpha: 4,
      targets: ['q_proj'],
      seed: 11,
    });
    const hash = sha(shipped('model.safetensors'));
    const { adapter } = await publishAdapter(p.database.db, p.store, {
      owner: { appId: app.app_id, userId: 'published' },
      files,
      baseModel: { id: 'brown-4m', hash },
      dataHash: 'd',
      metrics: {},
      promote: true,
    });
    const prefix = adapter.storagePrefix;
    const manifest = JSON.parse(
      new TextDecoder().decode((await p.store.get(`${prefix}tailor.json`)) ?? undefined),
    );
    expect(manifest.files).toEqual({
      'adapter_config.json': { sha256: sha(files.config), size: files.config.length },
      'adapter_model.safetensors': { sha256: sha(files.weights), size: files.weights.length },
    });
    const weightsKey = `${prefix}adapter_model.safetensors`;
    const configReads = vi.spyOn(p.store, 'get');
    const { gets } = await readsOf(weightsKey, async () => {
      const r = await p.call('GET', '/v1/users/published/adapter', { key: app.api_key });
      expect(r.status).toBe(200);
      const weights = (r.json.files as Link[]).find((f) => f.name === 'adapter_model.safetensors') as Link;
      expect(weights).toMatchObject({ sha256: sha(files.weights), size: files.weights.length });
      const { res, bytes } = await download(weights);
      expect(res.status).toBe(200);
      expect(sha(bytes)).toBe(weights.sha256);
    });
    expect(gets).toBe(0);
    expect(configReads.mock.calls.filter(([k]) => k === `${prefix}adapter_config.json`)).toHaveLength(0);
  });

  it('a version published before digests were recorded is hashed once, not per download', async () => {
    const r = await p.call('GET', '/v1/users/reader/adapter', { key: app.api_key });
    const weights = (r.json.files as Link[])[1] as Link;
    const key = decodeURIComponent(new URL(weights.url).pathname.slice('/v1/files/'.length));
    const { gets } = await readsOf(key, async () => {
      for (let i = 0; i < 5; i++) {
        const { res, bytes } = await download(await linkTo(key, weights.sha256));
        expect(res.status).toBe(200);
        expect(sha(bytes)).toBe(weights.sha256);
      }
    });
    expect(gets).toBeLessThanOrEqual(1);
  });
});

describe('the signed-file route limits', () => {
  const config = shipped('config.json');
  const key = `${MODEL}config.json`;

  // The buckets refill as the test runs (a token per 2 s a link, per 0.5 s an address): a slow machine gets
  // a few more in before the first 429, never fewer.
  /** How many requests `send` gets answered before its first 429 (up to `most`), and that answer. */
  async function untilRefused(
    most: number,
    send: (i: number) => Promise<{ res: Response; bytes: Uint8Array }>,
  ) {
    for (let i = 0; i < most; i++) {
      const answer = await send(i);
      if (answer.res.status === 429) return { answered: i, ...answer };
      expect(answer.res.status).toBe(200);
    }
    return { answered: most, res: null, bytes: null };
  }

  it('one link answers 30 requests a minute, whoever asks, then 429 with Retry-After', async () => {
    const link = await linkTo(key, sha(config));
    const { answered, res, bytes } = await untilRefused(40, () => download(link));
    expect(answered).toBeGreaterThanOrEqual(30);
    expect(answered).toBeLessThan(34);
    expect(Number(res?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res?.headers.get('access-control-allow-origin')).toBe('*');
    expect(JSON.parse(new TextDecoder().decode(bytes ?? undefined)).error.code).toBe('rate_limited');
    expect((await download(await linkTo(key, sha(config)))).res.status).toBe(200);
  });

  it('one address gets 120 requests a minute over any links, then 429; proxy headers it sends are ignored', async () => {
    const address = newAddress();
    // Were any of these headers believed, every request would come from another address and none be refused.
    const spoofed = (i: number) => ({
      'x-forwarded-for': `192.0.2.${i % 250}`,
      'cf-connecting-ip': `198.51.100.${i % 250}`,
      'x-real-ip': `203.0.113.${i % 250}`,
    });
    const { answered, res } = await untilRefused(200, async (i) =>
      download(await linkTo(key, sha(config)), spoofed(i), address),
    );
    expect(answered).toBeGreaterThanOrEqual(120);
    expect(answered).toBeLessThan(135);
    expect(Number(res?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await download(await linkTo(key, sha(config)))).res.status).toBe(200);
  });

  it('one address has at most 16 downloads in flight', async () => {
    const onnx = shipped('model.onnx');
    const address = newAddress();
    const open = async () =>
      p.app.request(
        `http://localhost${path((await linkTo(`${MODEL}model.onnx`, sha(onnx))).url)}`,
        {},
        fromAddress(address),
      );
    const streams = await Promise.all(Array.from({ length: 16 }, open));
    expect(streams.map((r) => r.status)).toEqual(Array(16).fill(200));
    const over = await open();
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    await streams[0]?.body?.cancel();
    const next = await open();
    expect(next.status).toBe(200);
    await Promise.all([...streams.slice(1), next].map((r) => r.body?.cancel()));
  });
});
