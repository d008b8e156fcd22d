// @tailor/sdk: a typed client of Tailor's /v1 API for servers (an app key) and devices (a user token). Only web
// APIs (fetch, AbortController, TextDecoder, crypto.randomUUID): it runs in browsers, React Native and Node.
// The types are the API's own zod contracts (schema/contracts.ts), imported as types only: no zod at runtime.
import type * as C from '../../schema/contracts.js';
import { aborted, errorFromResponse, TailorError } from './errors.js';
import { backoffMs, type RetryDelay, sleep } from './retry.js';
import { type GenerationStream, SseGenerationStream } from './stream.js';
import type {
  FeedbackRequest,
  FeedbackResponse,
  GenerateRequest,
  GenerateResponse,
  LocalModel,
  LocalOptions,
  ScoreRequest,
  ScoreResponse,
  UserAdapterResponse,
} from './types.js';

export { TailorError } from './errors.js';
export type { RetryDelay } from './retry.js';
export { type SseEvent, SseParser } from './sse.js';
export type { GenerationStream } from './stream.js';
// The request and answer types, and those of on-device generation (`tailor.local(user)`, in ./local.ts, loaded
// on first use: engine + onnxruntime-web).
export type {
  AdapterChoice,
  FeedbackRequest,
  FeedbackResponse,
  GenerateRequest,
  GenerateResponse,
  LocalDownloads,
  LocalModel,
  LocalOptions,
  ScoreRequest,
  ScoreResponse,
  StyleWeight,
  UserAdapterResponse,
} from './types.js';

export interface TailorOptions {
  /** The platform's origin, e.g. 'http://127.0.0.1:8787'. */
  baseUrl: string;
  /** Server mode: an app key (`tlk_…`); every call names `user`. */
  apiKey?: string;
  /** Device mode: a user token, or a getter asked before every request. */
  token?: string | (() => string | Promise<string>);
  /** Called once on a 401 in token mode; the call is then retried with the token it gives. */
  refreshToken?: () => Promise<string>;
  /** The fetch to use (default globalThis.fetch). React Native: a streaming one, see the README. */
  fetch?: typeof fetch;
  /** Extra fields for every fetch's init, e.g. `{ reactNative: { textStreaming: true } }`. */
  fetchOptions?: Record<string, unknown>;
  /** Retries after 429, 503 and (idempotent calls only) network errors. Default 3. */
  retries?: number;
  /** The backoff between retries when the answer has no Retry-After. */
  retryDelay?: RetryDelay;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface RequestOptions extends CallOptions {
  /** Retry network errors too (the call may have reached the server). Default: GET, HEAD, PUT, DELETE. */
  idempotent?: boolean;
  headers?: Record<string, string>;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

export class Tailor {
  readonly baseUrl: string;
  /** The fetch in use (callable unbound), for extensions that download files. */
  readonly fetch: typeof fetch;
  private readonly apiKey: string | undefined;
  private token: string | (() => string | Promise<string>) | undefined;
  private readonly refreshToken: (() => Promise<string>) | undefined;
  private readonly fetchOptions: Record<string, unknown>;
  private readonly retries: number;
  private readonly retryDelay: RetryDelay;
  private refreshing: Promise<string> | undefined;

  constructor(opts: TailorOptions) {
    if ((opts.apiKey === undefined) === (opts.token === undefined)) {
      throw new TypeError('Tailor: pass exactly one of apiKey (server mode) or token (device mode)');
    }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    const f = opts.fetch;
    // Called unbound: a browser's fetch refuses to run with `this` set to another object.
    this.fetch = (input, init) => (f ?? globalThis.fetch)(input, init);
    this.apiKey = opts.apiKey;
    this.token = opts.token;
    this.refreshToken = opts.refreshToken;
    this.fetchOptions = opts.fetchOptions ?? {};
    this.retries = opts.retries ?? 3;
    this.retryDelay = opts.retryDelay ?? {};
  }

  /**
   * Generation on this device: downloads the base model package (once, cached by content hash) and the user's
   * active adapter through signed links, then generates with the server's engine on onnxruntime-web. Greedy
   * output equals the server's for the same user, prompt and adapter version. Browsers (and Node).
   */
  async local(user?: string, opts: LocalOptions = {}): Promise<LocalModel> {
    const { openLocal } = await import('./local.js');
    return openLocal(this, await this.userOf(user), opts);
  }

  /** Streams a generation (`stream: true`): iterate for the pieces; `done` has the whole answer. */
  generate(req: GenerateRequest, opts: CallOptions = {}): GenerationStream {
    return new SseGenerationStream(
      (signal) =>
        this.send(
          'POST',
          '/v1/generate',
          { ...req, stream: true },
          {
            signal,
            idempotent: false,
            headers: { accept: 'text/event-stream' },
          },
        ),
      opts.signal,
    );
  }

  /** A generation as one JSON answer. */
  complete(req: GenerateRequest, opts: CallOptions = {}): Promise<GenerateResponse> {
    return this.request('POST', '/v1/generate', { ...req, stream: false }, { ...opts, idempotent: false });
  }

  /** The negative log-likelihood of texts under the user's adapter (lower fits them better). */
  score(req: ScoreRequest, opts: CallOptions = {}): Promise<ScoreResponse> {
    return this.request('POST', '/v1/score', req, { ...opts, idempotent: true });
  }

  /**
   * Records feedback under an idempotency key (`opts.idempotencyKey`, the body's, or a new UUID), the same
   * across retries: `duplicate` is true when the server had it already.
   */
  async feedback(
    req: FeedbackRequest,
    opts: CallOptions & { idempotencyKey?: string } = {},
  ): Promise<FeedbackResponse> {
    const idempotency_key = opts.idempotencyKey ?? req.idempotency_key ?? newIdempotencyKey();
    const res = await this.send(
      'POST',
      '/v1/feedback',
      { ...req, idempotency_key },
      { ...opts, idempotent: true },
    );
    const { id } = (await res.json()) as C.FeedbackResponse;
    return { id, duplicate: res.status === 200 };
  }

  /** The user's active adapter (version, metrics, download link), or null when they have none yet. */
  async adapter(user?: string, opts: CallOptions = {}): Promise<UserAdapterResponse | null> {
    const path = `/v1/users/${encodeURIComponent(await this.userOf(user))}/adapter`;
    try {
      return await this.request<UserAdapterResponse>('GET', path, undefined, opts);
    } catch (e) {
      if (e instanceof TailorError && e.status === 404 && e.code === 'not_found') return null;
      throw e;
    }
  }

  /** Erases the user's generations, feedback, adapters and their files (idempotent). */
  async erase(user?: string, opts: CallOptions = {}): Promise<void> {
    await this.request('DELETE', `/v1/users/${encodeURIComponent(await this.userOf(user))}`, undefined, opts);
  }

  /** A JSON call with this client's credential, retries and errors; undefined for an empty answer (204). */
  async request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, body, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The user a call acts for: the one named, or in device mode the token's `sub`. */
  private async userOf(user: string | undefined): Promise<string> {
    if (user !== undefined) return user;
    if (this.apiKey !== undefined) {
      throw new TailorError(0, 'invalid_request', 'user: required with an app key');
    }
    const sub = tokenSubject(await this.currentToken());
    if (!sub) throw new TailorError(0, 'invalid_request', 'user: the token names no user (sub); pass one');
    return sub;
  }

  private async currentToken(): Promise<string> {
    const t = this.token;
    return typeof t === 'function' ? await t() : (t as string);
  }

  /** One refresh at a time: concurrent 401s wait for the same new token. */
  private refresh(): Promise<string> {
    this.refreshing ??= (this.refreshToken as () => Promise<string>)().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing.then((t) => {
      if (typeof this.token === 'string') this.token = t; // a getter stays the source of later tokens
      return t;
    });
  }

  /** The request, retried as allowed; resolves with a 2xx answer, rejects with a TailorError. */
  private async send(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<Response> {
    const idempotent = options.idempotent ?? IDEMPOTENT_METHODS.has(method.toUpperCase());
    let refreshed: string | undefined;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw aborted(options.signal.reason);
      const credential = this.apiKey ?? refreshed ?? (await this.currentToken());
      let res: Response;
      try {
        res = await this.fetch(this.baseUrl + path, {
          ...this.fetchOptions,
          method,
          headers: {
            authorization: `Bearer ${credential}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (e) {
        if (options.signal?.aborted || (e as { name?: unknown })?.name === 'AbortError') throw aborted(e);
        if (!(e instanceof TypeError)) throw e;
        const err = new TailorError(0, 'network_error', e.message, { cause: e });
        if (!idempotent || attempt >= this.retries) throw err;
        await sleep(backoffMs(attempt, this.retryDelay), options.signal);
        continue;
      }
      if (res.ok) return res;
      if (res.status === 401 && this.refreshToken && this.apiKey === undefined && refreshed === undefined) {
        res.body?.cancel().catch(() => {}); // not awaited: a tee'd body's cancel waits for its twin
        refreshed = await this.refresh();
        attempt--; // the retry after a refresh is not one of `retries`
        continue;
      }
      const err = await errorFromResponse(res);
      // 429 and 503 are answered before anything is done: safe to retry, even a generation.
      if ((res.status === 429 || res.status === 503) && attempt < this.retries) {
        const wait =
          err.retryAfter !== undefined ? err.retryAfter * 1000 : backoffMs(attempt, this.retryDelay);
        if (wait <= (this.retryDelay.maxMs ?? 30_000)) {
          await sleep(wait, options.signal);
          continue;
        }
      }
      throw err;
    }
  }
}

/** A new idempotency key: crypto.randomUUID (React Native: install a getRandomValues polyfill). */
export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  if (typeof c?.getRandomValues === 'function') {
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  throw new TailorError(
    0,
    'no_crypto',
    'no crypto.randomUUID or crypto.getRandomValues: install a polyfill (react-native-get-random-values) or pass idempotencyKey',
  );
}

/** The `sub` claim of a JWT, unverified (the server verifies): the user a device's token acts for. */
export function tokenSubject(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(base64UrlToText(part)) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url to UTF-8 text without atob or Buffer (neither is everywhere). */
function base64UrlToText(s: string): string {
  let bits = 0;
  let acc = 0;
  let pct = '';
  for (const ch of s.replace(/=+$/, '')) {
    const v = B64.indexOf(ch === '+' ? '-' : ch === '/' ? '_' : ch);
    if (v < 0) throw new Error('not base64url');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      pct += `%${((acc >> bits) & 0xff).toString(16).padStart(2, '0')}`;
    }
  }
  return decodeURIComponent(pct);
}
