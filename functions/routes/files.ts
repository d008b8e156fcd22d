// GET /v1/files/<key>?expires&sha256&sig: the download links the app signs itself (stores that cannot sign
// their own: the local directory, an R2 binding). Anyone holding a link may use it, so the route is built to
// be cheap per request and limited per link and per client address:
//   - the file is streamed from storage as the client reads it, never held whole;
//   - the hash a link names is checked against the digest its publisher recorded (the package's manifest or
//     the base model's marker, a small read beside the file), not by hashing the file; only a file without a
//     record is hashed, once per version of its bytes;
//   - ETag (the SHA-256), If-None-Match (304) and a single Range (206, 416) let a device revalidate and resume.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { type BlobInfo, RangeNotSatisfiableError, StorageError } from '../../core/storage/store.js';
import { errorBody } from '../../schema/contracts.js';
import { noneMatch, parseRange, rangeStillApplies } from '../http/byte-ranges.js';
import { clientAddress } from '../http/client-address.js';
import { FILES_ROUTE, hashOnce, recordedDigests, verifyDownload } from '../http/download-links.js';
import { ApiError, notFound } from '../http/errors.js';
import { errors, json, type Routes, routes } from '../http/openapi.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { Services } from '../http/services.js';

const fileQuery = z.object({
  expires: z.string().max(20),
  sig: z.string().max(128),
  sha256: z.string().max(64).optional(),
});

const fileBody = {
  content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
};

export const fileRoute = createRoute({
  method: 'get',
  path: `${FILES_ROUTE}{key}`,
  tags: ['users'],
  summary: 'Download a file by a signed link',
  description:
    'The links `GET /v1/users/{user}/adapter` and `GET /v1/models/{model}/files` hand out when the storage ' +
    'cannot sign its own (the local directory store). `key` is the rest of the path; the link carries its own ' +
    'authorisation and the SHA-256 of the content: a file that changed since answers 410. The ETag is the ' +
    'SHA-256: `If-None-Match` with it answers 304; one `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) answers ' +
    '206, or 416 past the end; several ranges are ignored (200, the whole file). Limited per link and per ' +
    'client address (429 with `Retry-After`).',
  security: [],
  request: { query: fileQuery },
  responses: {
    200: { description: 'The file', ...fileBody },
    206: { description: 'The range asked for (`Content-Range`)', ...fileBody },
    304: { description: 'Not modified: `If-None-Match` names the file’s ETag' },
    ...errors(403, 404, 410, 422, 429),
    416: json(errorBody, 'No byte of the range is in the file (`Content-Range: bytes */size`)'),
  },
});

/** What a browser's script may read of the answer, beyond the headers every answer exposes. */
const EXPOSED = 'etag, content-range, content-length, accept-ranges, retry-after';

/** Downloads in flight per client address: a cap on how many streams one address holds open. */
class StreamsInFlight {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** A release function (call it once the stream is done), or null when `address` is at the cap. */
  acquire(address: string): (() => void) | null {
    const n = this.counts.get(address) ?? 0;
    if (this.max > 0 && n >= this.max) return null;
    this.counts.set(address, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(address) ?? 1) - 1;
      if (left > 0) this.counts.set(address, left);
      else this.counts.delete(address);
    };
  }
}

/** `body`, calling `done` once when it ends, fails or its reader cancels (the client went away). */
function untilDone(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: end, value } = await reader.read();
          if (end) {
            done();
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          done();
          controller.error(e);
        }
      },
      async cancel(reason) {
        done();
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

const gone = () => new ApiError(410, 'gone', 'the file changed since this link was made; ask for a new link');

const unsatisfiable = (size: number) =>
  new ApiError(
    416,
    'range_not_satisfiable',
    `no byte of the range is in the file (${size} bytes)`,
    undefined,
    {
      'content-range': `bytes */${size}`,
    },
  );

const tooMany = (message: string, retryAfter: number) =>
  new ApiError(429, 'rate_limited', message, undefined, { 'retry-after': String(retryAfter) });

export function fileRoutes(s: Services): Routes {
  const limits = s.config.downloads;
  const perLink = new RateLimiter(s.now);
  const perAddress = new RateLimiter(s.now);
  const streams = new StreamsInFlight(limits.maxStreamsPerAddress);

  /** A token of the client address: every request spends one, a forged or expired link's too. */
  function takeAddress(address: string): void {
    const d = perAddress.take(address, limits.perAddressPerMinute);
    if (d.allowed) return;
    s.rateLimited.inc({ scope: 'download_address' });
    throw tooMany(
      `downloads from this address are over their limit; retry in ${d.retryAfter} s`,
      d.retryAfter,
    );
  }

  /** A token of a genuine link; a request the link refuses costs the address nothing. */
  function takeLink(address: string, link: string): void {
    const d = perLink.take(link, limits.perLinkPerMinute);
    if (d.allowed) return;
    perAddress.refund(address, limits.perAddressPerMinute);
    s.rateLimited.inc({ scope: 'download_link' });
    throw tooMany(`this download link is over its limit; retry in ${d.retryAfter} s`, d.retryAfter);
  }

  /** The file's size and version; a key no store accepts is no file either. */
  async function headOf(key: string): Promise<BlobInfo> {
    const info = await s.store.head(key).catch((e: unknown) => {
      if (e instanceof StorageError) return null;
      throw e;
    });
    if (!info) throw notFound('no such file');
    return info;
  }

  /** The file's ETag value: the hash its publisher recorded; else (an older package) its bytes hashed once. */
  async function contentHash(info: BlobInfo, linked: string | undefined): Promise<string | undefined> {
    const dir = info.key.slice(0, info.key.lastIndexOf('/') + 1);
    const name = info.key.slice(dir.length);
    const record = (await recordedDigests(s.store, dir))[name];
    // A record of another size is not of these bytes (replaced without a new record): they are hashed.
    if (record && record.size === info.size) return record.sha256;
    if (!linked) return undefined; // a link that names no hash promises no particular bytes
    return (await hashOnce(s.store, info)) ?? undefined;
  }

  const r = routes();
  // The key spans several path segments, which an OpenAPI path parameter cannot: the route is documented
  // from its definition and served by a wildcard.
  r.openAPIRegistry.registerPath(fileRoute);
  r.get(`${FILES_ROUTE}*`, async function signedFile(c: Context) {
    // The signature is the credential: any page may read the file, and its errors (no cookies are involved).
    c.header('access-control-allow-origin', '*');
    c.header('access-control-expose-headers', EXPOSED);
    const key = decodeURIComponent(new URL(c.req.url).pathname.slice(FILES_ROUTE.length));
    const sha256 = c.req.query('sha256');
    const { expires, sig } = c.req.query();

    const address = clientAddress(c, s.config.trustedProxyHeader);
    takeAddress(address);
    if (!(await verifyDownload(s.urlSecret, key, expires, sig, s.now(), sha256))) {
      throw new ApiError(403, 'forbidden', 'this download link is invalid or has expired');
    }
    takeLink(address, sig as string);
    // A slot before any storage work: an address at its cap gets 429s that cost a map lookup.
    const release = c.req.method === 'HEAD' ? () => {} : streams.acquire(address);
    if (!release) {
      s.rateLimited.inc({ scope: 'download_streams' });
      throw tooMany(
        `too many downloads from this address at once (at most ${limits.maxStreamsPerAddress})`,
        1,
      );
    }
    let streaming = false;
    try {
      const info = await headOf(key);
      const hash = await contentHash(info, sha256);
      if (sha256 && hash !== sha256) throw gone();

      const etag = hash ? `"${hash}"` : undefined;
      const left = Math.max(0, Number(expires) - Math.floor(s.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        ...(etag ? { etag } : {}),
        'cache-control': sha256 ? `private, max-age=${left}, immutable` : 'no-store',
      };
      if (etag && noneMatch(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);

      const ask = rangeStillApplies(c.req.header('if-range'), etag)
        ? parseRange(c.req.header('range'), info.size)
        : { kind: 'whole' as const };
      if (ask.kind === 'unsatisfiable') throw unsatisfiable(info.size);
      const range = ask.kind === 'range' ? { start: ask.start, end: ask.end } : undefined;
      if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
      headers['content-length'] = String(range ? range.end - range.start + 1 : info.size);
      const status = range ? 206 : 200;
      if (c.req.method === 'HEAD') return c.body(null, status, headers);

      const got = await s.store.getStream(key, range).catch((e: unknown) => {
        if (e instanceof RangeNotSatisfiableError) throw unsatisfiable(e.size);
        throw e;
      });
      if (!got) throw notFound('no such file');
      if (got.size !== info.size) {
        // Replaced since the head: the hash checked above is not of these bytes.
        await got.body.cancel();
        throw gone();
      }
      streaming = true;
      return c.body(untilDone(got.body, release), status, headers);
    } finally {
      if (!streaming) release();
    }
  });
  return r;
}
