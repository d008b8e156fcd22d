import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Tailor, TailorError, tokenSubject } from './index.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: any;
  signal: AbortSignal | undefined;
}

type Reply = Response | Error | ((seen: Seen) => Response | Promise<Response>);

/** A fetch that answers with `replies` in order (the last one again once they run out) and records each call. */
function fakeFetch(...replies: Reply[]) {
  const calls: Seen[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const seen: Seen = {
      url: String(input),
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(seen);
    const r = replies[Math.min(calls.length, replies.length) - 1] as Reply;
    if (r instanceof Error) throw r;
    return typeof r === 'function' ? r(seen) : r.clone();
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const apiError = (status: number, code: string, headers: Record<string, string> = {}, details?: unknown) =>
  json(status, { error: { code, message: `${code}!`, ...(details ? { details } : {}) } }, headers);

/** A streaming answer of these byte chunks. */
const sse = (chunks: Uint8Array[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );

const DONE = {
  id: 'gen_abc',
  text: 'Once upon a tïme 🐉',
  finish_reason: 'length',
  model: 'brown-4m',
  adapter: null,
  usage: { prompt_tokens: 2, completion_tokens: 4 },
  timings_ms: { first_token: 1, total: 2 },
  seed: 7,
};
const PIECES = ['Once', ' upon', ' a tïme', ' 🐉'];
const STREAM = `${PIECES.map((text) => `event: token\r\ndata: ${JSON.stringify({ text })}\r\n\r\n`).join('')}event: done\r\ndata: ${JSON.stringify(DONE)}\r\n\r\n`;
const BYTES = new TextEncoder().encode(STREAM);

const split = (bytes: Uint8Array, at: number[]) => {
  const points = [...new Set(at.map((i) => i % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  return out;
};

const FAST = { retryDelay: { baseMs: 1, maxMs: 5_000 } };
const server = (fetch: typeof globalThis.fetch, more = {}) =>
  new Tailor({ baseUrl: 'http://tailor.test/', apiKey: 'tlk_key', fetch, ...FAST, ...more });

/** A user token for `sub` (unsigned: the fake server does not check). */
const b64url = (o: object) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o))))
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
const tokenFor = (sub: string) =>
  `${b64url({ alg: 'HS256' })}.${b64url({ sub, name: 'Zoë 🐉', exp: 9e9 })}.sig`;

afterEach(() => {
  vi.useRealTimers();
});

describe('generate (streaming)', () => {
  it('yields the pieces, however the bytes are split (inside UTF-8 sequences and CRLFs too)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), async (at) => {
        const { fetch, calls } = fakeFetch(() => sse(split(BYTES, at)));
        const stream = server(fetch).generate({ user: 'u1', prompt: 'Once', max_tokens: 4 });
        const pieces: string[] = [];
        for await (const p of stream) pieces.push(p.text);
        expect(pieces).toEqual(PIECES);
        expect(await stream.done).toEqual(DONE);
        expect(await stream.id).toBe('gen_abc');
        expect(calls[0]?.url).toBe('http://tailor.test/v1/generate');
        expect(calls[0]?.body).toEqual({ user: 'u1', prompt: 'Once', max_tokens: 4, stream: true });
        expect(calls[0]?.headers.authorization).toBe('Bearer tlk_key');
      }),
      { numRuns: 100 },
    );
  });

  it('resolves done without being iterated', async () => {
    const { fetch } = fakeFetch(() => sse([BYTES]));
    expect((await server(fetch).generate({ user: 'u1', prompt: 'x' }).done).text).toBe(DONE.text);
  });

  it('throws an error event as a TailorError, from the iterator and from done', async () => {
    const body =
      'event: token\ndata: {"text":"a"}\n\nevent: error\ndata: {"error":{"code":"unavailable","message":"no engine"}}\n\n';
    const { fetch } = fakeFetch(() => sse([new TextEncoder().encode(body)]));
    const stream = server(fetch).generate({ user: 'u1', prompt: 'x' });
    const pieces: string[] = [];
    const err = await (async () => {
      for await (const p of stream) pieces.push(p.text);
    })().catch((e: unknown) => e);
    expect(pieces).toEqual(['a']);
    expect(err).toBeInstanceOf(TailorError);
    expect(err).toMatchObject({ status: 503, code: 'unavailable', message: 'no engine' });
    await expect(stream.done).rejects.toBe(err);
    await expect(stream.id).rejects.toBe(err);
  });

  it('says so when the stream ends before its done event', async () => {
    const { fetch } = fakeFetch(() =>
      sse([new TextEncoder().encode('event: token\ndata: {"text":"a"}\n\n')]),
    );
    await expect(server(fetch).generate({ user: 'u1', prompt: 'x' }).done).rejects.toMatchObject({
      code: 'stream_ended',
    });
  });

  it('throws an HTTP refusal before the stream (no retry on 422)', async () => {
    const issues = { issues: [{ path: 'max_tokens', message: 'too big' }] };
    const { fetch, calls } = fakeFetch(apiError(422, 'invalid_request', {}, issues));
    const stream = server(fetch).generate({ user: 'u1', prompt: 'x', max_tokens: 9999 });
    await expect(stream.done).rejects.toMatchObject({
      status: 422,
      code: 'invalid_request',
      details: issues,
    });
    expect(calls).toHaveLength(1);
  });

  /** A stream that sends one piece, then hangs until its request is aborted. */
  const hanging = (seen: Seen) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('event: token\ndata: {"text":"a"}\n\n'));
          seen.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
        },
      }),
      { status: 200 },
    );

  it('stops on the AbortSignal: the request is aborted, the iterator and done reject with aborted', async () => {
    const { fetch, calls } = fakeFetch(hanging);
    const ctrl = new AbortController();
    const stream = server(fetch).generate({ user: 'u1', prompt: 'x' }, { signal: ctrl.signal });
    const pieces: string[] = [];
    const err = await (async () => {
      for await (const p of stream) {
        pieces.push(p.text);
        ctrl.abort();
      }
    })().catch((e: unknown) => e);
    expect(pieces).toEqual(['a']);
    expect(err).toMatchObject({ name: 'TailorError', code: 'aborted', status: 0 });
    expect(calls[0]?.signal?.aborted).toBe(true);
    await expect(stream.done).rejects.toMatchObject({ code: 'aborted' });
  });

  it('cancel() ends the iteration quietly and aborts the request; so does a break', async () => {
    const a = fakeFetch(hanging);
    const stream = server(a.fetch).generate({ user: 'u1', prompt: 'x' });
    const pieces: string[] = [];
    for await (const p of stream) {
      pieces.push(p.text);
      stream.cancel();
    }
    expect(pieces).toEqual(['a']);
    expect(a.calls[0]?.signal?.aborted).toBe(true);
    await expect(stream.done).rejects.toMatchObject({ code: 'aborted' });

    const b = fakeFetch(hanging);
    const broken = server(b.fetch).generate({ user: 'u1', prompt: 'x' });
    for await (const _ of broken) break;
    expect(b.calls[0]?.signal?.aborted).toBe(true);
    await expect(broken.done).rejects.toMatchObject({ code: 'aborted' });
  });

  it('reads a whole answer when the fetch gives no streaming body (React Native)', async () => {
    const { fetch } = fakeFetch(
      () => ({ ok: true, status: 200, body: null, text: async () => STREAM }) as any,
    );
    const pieces: string[] = [];
    const stream = server(fetch).generate({ user: 'u1', prompt: 'x' });
    for await (const p of stream) pieces.push(p.text);
    expect(pieces).toEqual(PIECES);
  });
});

describe('retries', () => {
  it('honours Retry-After on 503, then succeeds, with the same idempotency key', async () => {
    vi.useFakeTimers();
    const { fetch, calls } = fakeFetch(
      apiError(503, 'unavailable', { 'retry-after': '2' }),
      json(201, { id: 'fb_1' }),
    );
    const done = server(fetch).feedback({ user: 'u1', text: 'liked it', rating: 1 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toEqual({ id: 'fb_1', duplicate: false });
    expect(calls).toHaveLength(2);
    const key = calls[0]?.body.idempotency_key;
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(calls[1]?.body.idempotency_key).toBe(key);
  });

  it('retries 429s and network errors for feedback with one key; 200 means a duplicate', async () => {
    const { fetch, calls } = fakeFetch(
      apiError(429, 'rate_limited', { 'retry-after': '0' }),
      new TypeError('fetch failed'),
      json(200, { id: 'fb_1' }),
    );
    const r = await server(fetch).feedback(
      { user: 'u1', generation_id: 'gen_1', rating: -1 },
      { idempotencyKey: 'k-1' },
    );
    expect(r).toEqual({ id: 'fb_1', duplicate: true });
    expect(calls.map((c) => c.body.idempotency_key)).toEqual(['k-1', 'k-1', 'k-1']);
    const fresh = fakeFetch(json(201, { id: 'fb_2' }), json(201, { id: 'fb_3' }));
    const t = server(fresh.fetch);
    await t.feedback({ user: 'u1', text: 'a', rating: 1 });
    await t.feedback({ user: 'u1', text: 'a', rating: 1 });
    expect(fresh.calls[0]?.body.idempotency_key).not.toBe(fresh.calls[1]?.body.idempotency_key);
  });

  it('never retries a 4xx other than 429', async () => {
    for (const [status, code] of [
      [422, 'invalid_request'],
      [409, 'idempotency_conflict'],
      [403, 'forbidden'],
      [400, 'bad_request'],
    ] as const) {
      const { fetch, calls } = fakeFetch(apiError(status, code), json(201, { id: 'x' }));
      const err = await server(fetch)
        .feedback({ user: 'u1', text: 'a', rating: 1 })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status, code, message: `${code}!` });
      expect(calls).toHaveLength(1);
    }
  });

  it('gives up after `retries`, with the last error and its retryAfter', async () => {
    const { fetch, calls } = fakeFetch(apiError(503, 'unavailable', { 'retry-after': '0' }));
    const err = await server(fetch, { retries: 2 })
      .score({ user: 'u1', texts: ['a'] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'unavailable', retryAfter: 0 });
    expect(calls).toHaveLength(3);
  });

  it('does not wait out a Retry-After longer than retryDelay.maxMs', async () => {
    const { fetch, calls } = fakeFetch(apiError(429, 'rate_limited', { 'retry-after': '60' }));
    const err = await server(fetch)
      .score({ user: 'u1', texts: ['a'] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, retryAfter: 60 });
    expect(calls).toHaveLength(1);
  });

  it('retries a generation on 429, but not after a network error (it may have run)', async () => {
    const a = fakeFetch(apiError(429, 'rate_limited'), json(200, DONE));
    expect((await server(a.fetch).complete({ user: 'u1', prompt: 'x' })).id).toBe('gen_abc');
    expect(a.calls).toHaveLength(2);
    expect(a.calls[0]?.body.stream).toBe(false);
    const b = fakeFetch(new TypeError('fetch failed'), json(200, DONE));
    await expect(server(b.fetch).complete({ user: 'u1', prompt: 'x' })).rejects.toMatchObject({
      status: 0,
      code: 'network_error',
    });
    expect(b.calls).toHaveLength(1);
  });

  it('stops waiting when aborted during a backoff', async () => {
    const { fetch, calls } = fakeFetch(apiError(503, 'unavailable', { 'retry-after': '5' }));
    const ctrl = new AbortController();
    const p = server(fetch, { retryDelay: { maxMs: 10_000 } }).score(
      { user: 'u1', texts: ['a'] },
      { signal: ctrl.signal },
    );
    setTimeout(() => ctrl.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
    expect(calls).toHaveLength(1);
  });
});

describe('device mode (user token)', () => {
  it('on a 401 calls refreshToken once, retries with the new token and keeps it', async () => {
    const refreshToken = vi.fn(async () => tokenFor('reader-1'));
    const { fetch, calls } = fakeFetch(
      apiError(401, 'unauthorized'),
      json(200, { adapter: null, results: [] }),
    );
    const t = new Tailor({ baseUrl: 'http://tailor.test', token: 'old', refreshToken, fetch, ...FAST });
    await t.score({ texts: ['a'] });
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(calls.map((c) => c.headers.authorization)).toEqual([
      'Bearer old',
      `Bearer ${tokenFor('reader-1')}`,
    ]);
    expect(calls[0]?.body).toEqual({ texts: ['a'] }); // no user: the token names it
    await t.score({ texts: ['b'] });
    expect(calls[2]?.headers.authorization).toBe(`Bearer ${tokenFor('reader-1')}`);
  });

  it('refreshes once per call: a second 401 is thrown', async () => {
    const refreshToken = vi.fn(async () => 'still-bad');
    const { fetch, calls } = fakeFetch(apiError(401, 'unauthorized'));
    const t = new Tailor({ baseUrl: 'http://tailor.test', token: () => 'bad', refreshToken, fetch });
    await expect(t.score({ texts: ['a'] })).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(calls).toHaveLength(2);
  });

  it("names the token's user in paths; adapter() is null on 404; erase() sends DELETE", async () => {
    const token = tokenFor('reader:1@x');
    expect(tokenSubject(token)).toBe('reader:1@x');
    const { fetch, calls } = fakeFetch(apiError(404, 'not_found'), new Response(null, { status: 204 }));
    const t = new Tailor({ baseUrl: 'http://tailor.test', token: async () => token, fetch });
    expect(await t.adapter()).toBeNull();
    await t.erase();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET http://tailor.test/v1/users/reader%3A1%40x/adapter',
      'DELETE http://tailor.test/v1/users/reader%3A1%40x',
    ]);
  });

  it('needs a user with an app key, and exactly one credential', async () => {
    const { fetch, calls } = fakeFetch(json(200, {}));
    await expect(server(fetch).adapter()).rejects.toMatchObject({ code: 'invalid_request' });
    expect(calls).toHaveLength(0);
    expect(() => new Tailor({ baseUrl: 'x', fetch })).toThrow(TypeError);
    expect(() => new Tailor({ baseUrl: 'x', apiKey: 'k', token: 't', fetch })).toThrow(TypeError);
  });
});

describe('request', () => {
  it('calls the injected fetch unbound (as browsers require) and parses JSON', async () => {
    const fetch = async function (this: unknown) {
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      return json(200, { ok: 1 });
    } as unknown as typeof globalThis.fetch;
    expect(await server(fetch).request('GET', '/v1/models')).toEqual({ ok: 1 });
  });

  it('passes fetchOptions into every init', async () => {
    const { fetch } = fakeFetch(json(200, {}));
    await server(fetch, { fetchOptions: { reactNative: { textStreaming: true } } }).request('GET', '/x');
    expect((fetch as any).mock.calls[0][1].reactNative).toEqual({ textStreaming: true });
  });
});
