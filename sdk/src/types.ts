// The SDK's types: the API's requests and answers (the zod contracts of schema/contracts.ts, as types only) and
// on-device generation's. Here rather than in index.ts or local.ts so that neither imports the other for them.
import type * as C from '../../schema/contracts.js';
import type { GenerationStream } from './stream.js';

/** What `generate` and `complete` take: /v1/generate's body (defaults left out), without `stream`. */
export type GenerateRequest = Omit<C.GenerateRequestInput, 'stream'>;
export type GenerateResponse = C.GenerateResponse;
/** /v1/score's body; `styles` may be left out. */
export type ScoreRequest = Omit<C.ScoreRequest, 'styles'> & { styles?: C.ScoreRequest['styles'] };
export type ScoreResponse = C.ScoreResponse;
/** /v1/feedback's body; `idempotency_key` is made up when left out. */
export type FeedbackRequest = C.FeedbackRequest;
export type FeedbackResponse = { id: string; duplicate: boolean };
export type UserAdapterResponse = C.UserAdapterResponse;
export type StyleWeight = C.StyleWeight;
export type AdapterChoice = C.AdapterChoice;

export interface LocalOptions {
  /**
   * Where onnxruntime-web's `ort-wasm-simd-threaded.wasm` is served (a folder URL ending in `/`, or the file's
   * URL). Default: the platform's copy, `${baseUrl}/example/ort/`.
   */
  wasmPaths?: string;
  /** Cache Storage name (default `tailor`); `false` keeps files in memory only. */
  cache?: string | false;
}

/** What the device downloaded: sizes in bytes, and how much of it came from the cache. */
export interface LocalDownloads {
  model: { bytes: number; cached: boolean };
  adapter: { version: string; bytes: number; cached: boolean } | null;
}

export interface LocalModel {
  readonly user: string;
  /** The adapter version applied, or null (the user has none: the base model answers). */
  readonly adapter: { version: string } | null;
  readonly downloads: LocalDownloads;
  /** Streams a generation on this device. The answer's `id` is `local`: send feedback with `text`, not an id. */
  generate(req: Omit<GenerateRequest, 'user' | 'adapter'>, opts?: { signal?: AbortSignal }): GenerationStream;
  /** The same, awaited whole. */
  complete(
    req: Omit<GenerateRequest, 'user' | 'adapter'>,
    opts?: { signal?: AbortSignal },
  ): Promise<GenerateResponse>;
}

/** What on-device generation needs of the client (a `Tailor`): its API calls and its fetch. */
export interface LocalClient {
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  request<T>(method: string, path: string): Promise<T>;
  adapter(user?: string): Promise<UserAdapterResponse | null>;
}
