// On-device generation: `tailor.local(user)` downloads the base model package once and the user's active
// adapter version (and the app's styles) through the signed links the platform hands out, then generates on
// this device with the server's own engine code on onnxruntime-web (one thread). The server is not involved
// after the downloads: the same user, prompt, options, seed and adapter version give the same text as
// /v1/generate, token for token.
//
// Files are cached by their SHA-256 (Cache Storage where the page has it, else in memory) and checked against
// it on download. When the user has no active adapter any more (erased) or another version is active, the
// cached files of the old one are dropped.
import * as ort from 'onnxruntime-web';
import type { BlobInfo, BlobStore } from '../../core/storage/store.js';
import { type AdapterRef, Engine } from '../../engine/index.js';
import type {
  FileLink,
  GenerateResponse,
  ModelFilesResponse,
  UserAdapterResponse,
} from '../../schema/contracts.js';
import { TailorError } from './errors.js';
import { SignedLinkLoader } from './local-loader.js';
import type { GenerateRequest, LocalClient, LocalDownloads, LocalModel, LocalOptions } from './types.js';

// /v1/generate's defaults (schema/v1.ts generateRequest): the same request gives the same text.
const DEFAULTS = { max_tokens: 64, temperature: 0.8, top_p: 0.95, top_k: 50 };

const CACHE_ORIGIN = 'https://tailor.invalid';
const memory = new Map<string, Uint8Array>();

/** Bytes by content hash: Cache Storage when the page has it (secure contexts), else this page's memory. */
class FileCache {
  constructor(private readonly name: string | false) {}

  private async open(): Promise<Cache | null> {
    if (this.name === false || typeof caches === 'undefined') return null;
    try {
      return await caches.open(this.name);
    } catch {
      return null; // e.g. storage disabled: memory only
    }
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const hit = memory.get(sha256);
    if (hit) return hit;
    const res = await (await this.open())?.match(`${CACHE_ORIGIN}/sha256/${sha256}`);
    if (!res) return null;
    const bytes = new Uint8Array(await res.arrayBuffer());
    if ((await sha256Hex(bytes)) !== sha256) return null; // a damaged entry: download again
    memory.set(sha256, bytes);
    return bytes;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    memory.set(sha256, bytes);
    await (await this.open())?.put(`${CACHE_ORIGIN}/sha256/${sha256}`, new Response(bytes as BodyInit));
  }

  async delete(sha256: string): Promise<void> {
    memory.delete(sha256);
    await (await this.open())?.delete(`${CACHE_ORIGIN}/sha256/${sha256}`);
  }

  /** Which files of a user's adapter are cached: `{ version, hashes }`, or null. */
  async userIndex(user: string): Promise<{ version: string; hashes: string[] } | null> {
    const key = `${CACHE_ORIGIN}/user/${encodeURIComponent(user)}`;
    const mem = memory.get(key);
    if (mem) return JSON.parse(new TextDecoder().decode(mem));
    const res = await (await this.open())?.match(key);
    return res ? ((await res.json()) as { version: string; hashes: string[] }) : null;
  }

  async setUserIndex(user: string, index: { version: string; hashes: string[] } | null): Promise<void> {
    const key = `${CACHE_ORIGIN}/user/${encodeURIComponent(user)}`;
    const cache = await this.open();
    if (!index) {
      memory.delete(key);
      await cache?.delete(key);
      return;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(index));
    memory.set(key, bytes);
    await cache?.put(
      key,
      new Response(bytes as BodyInit, { headers: { 'content-type': 'application/json' } }),
    );
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A file's bytes: from the cache, or downloaded through its signed link and checked against its hash. */
async function fetchFile(
  tailor: LocalClient,
  cache: FileCache,
  f: FileLink,
): Promise<{ bytes: Uint8Array; cached: boolean }> {
  const hit = await cache.get(f.sha256);
  if (hit) return { bytes: hit, cached: true };
  const res = await tailor.fetch(f.url);
  if (!res.ok)
    throw new TailorError(res.status, 'download_failed', `downloading ${f.name}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if ((await sha256Hex(bytes)) !== f.sha256) {
    throw new TailorError(
      502,
      'download_corrupt',
      `${f.name}: its bytes do not match the SHA-256 of its link`,
    );
  }
  await cache.put(f.sha256, bytes);
  return { bytes, cached: false };
}

/** A read-only store over files in hand: what the engine's package loader reads from. */
class FilesStore implements BlobStore {
  constructor(private readonly files: Map<string, Uint8Array>) {}
  async get(key: string) {
    return this.files.get(key) ?? null;
  }
  async head(key: string): Promise<BlobInfo | null> {
    const b = this.files.get(key);
    return b ? ({ key, size: b.length } as BlobInfo) : null;
  }
  async list(prefix: string): Promise<BlobInfo[]> {
    return [...this.files.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({ key, size: (this.files.get(key) as Uint8Array).length }) as BlobInfo);
  }
  async put(): Promise<void> {
    throw new Error('read-only');
  }
  async delete(): Promise<void> {
    throw new Error('read-only');
  }
  async signedUrl(): Promise<string> {
    throw new Error('not served');
  }
  /** The engine reads whole files; nothing serves these. */
  async getStream(): Promise<never> {
    throw new Error('not served');
  }
}

/**
 * One engine per base model package (by content), shared by every LocalModel of the page, with its loader: the
 * signed links of the adapter versions the page's LocalModels apply.
 */
const engines = new Map<string, Promise<{ engine: Engine; links: SignedLinkLoader }>>();

async function engineFor(
  tailor: LocalClient,
  cache: FileCache,
  model: ModelFilesResponse,
): Promise<{ engine: Engine; links: SignedLinkLoader; bytes: number; cached: boolean }> {
  const got = await Promise.all(model.files.map((f) => fetchFile(tailor, cache, f)));
  const bytes = got.reduce((n, g) => n + g.bytes.length, 0);
  const cached = got.every((g) => g.cached);
  const key = model.files.map((f) => f.sha256).join(':');
  let engine = engines.get(key);
  if (!engine) {
    const prefix = `models/${model.id}/`;
    const store = new FilesStore(
      new Map(model.files.map((f, i) => [prefix + f.name, got[i]?.bytes as Uint8Array])),
    );
    const links = new SignedLinkLoader();
    // One reader per device, decoding with their adapter: no second session for adapter-less requests.
    engine = Engine.load(
      store,
      { id: model.id, prefix, hash: model.hash },
      { baseOnlyGraph: false, loader: links },
    ).then((e) => ({ engine: e, links }));
    engines.set(key, engine);
    engine.catch(() => engines.delete(key));
  }
  return { ...(await engine), bytes, cached };
}

/** `tailor.local(user)`: everything downloaded (or found in the cache), ready to generate on this device. */
export async function openLocal(
  tailor: LocalClient,
  user: string,
  opts: LocalOptions = {},
): Promise<LocalModel> {
  ort.env.wasm.numThreads = 1; // the server runs one thread per engine: same kernels, same sums, same text
  // Only the .wasm is fetched: the glue code is bundled with the engine (onnxruntime-web/wasm).
  const wasm = opts.wasmPaths ?? `${tailor.baseUrl}/example/ort/`;
  ort.env.wasm.wasmPaths = { wasm: wasm.endsWith('/') ? `${wasm}ort-wasm-simd-threaded.wasm` : wasm };
  const cache = new FileCache(opts.cache ?? 'tailor');
  // The first entry of the model list is the base model the platform serves.
  const models = await tailor.request<{ data: { id: string }[] }>('GET', '/v1/models');
  const base = models.data[0]?.id;
  if (!base) throw new TailorError(503, 'unavailable', 'the platform lists no base model');
  const info = await tailor.request<ModelFilesResponse>(
    'GET',
    `/v1/models/${encodeURIComponent(base)}/files`,
  );
  const adapterInfo: UserAdapterResponse | null = await tailor.adapter(user);

  // Drop what is cached of a version that is no longer the user's active one (erased, rolled back, retrained).
  const before = await cache.userIndex(user);
  const hashes = adapterInfo
    ? [...adapterInfo.files, ...adapterInfo.styles.flatMap((s) => s.files)].map((f) => f.sha256)
    : [];
  if (before && before.version !== adapterInfo?.version) {
    for (const h of before.hashes) if (!hashes.includes(h)) await cache.delete(h);
  }

  const { engine, links, bytes: modelBytes, cached: modelCached } = await engineFor(tailor, cache, info);
  /** A plain reference for a version whose files come through `files`' signed links (or the cache). */
  const refOf = (key: string, kind: AdapterRef['kind'], files: FileLink[], weight = 1): AdapterRef => {
    links.register(key, files, async (f) => (await fetchFile(tailor, cache, f)).bytes);
    return { base: info.id, key, kind, weight };
  };
  let adapter: LocalDownloads['adapter'] = null;
  let userRef: AdapterRef | undefined;
  if (adapterInfo) {
    const files = adapterInfo.files.filter((f) => f.name !== 'tailor.json');
    const wasCached = (await Promise.all(files.map((f) => cache.get(f.sha256)))).every((b) => b !== null);
    userRef = refOf(`user:${user}:${adapterInfo.version}`, 'user', adapterInfo.files);
    await engine.prepareAdapters([userRef], { base: info.id });
    adapter = {
      version: adapterInfo.version,
      bytes: files.reduce((n, f) => n + f.size, 0),
      cached: wasCached,
    };
    await cache.setUserIndex(user, { version: adapterInfo.version, hashes });
  } else {
    await cache.setUserIndex(user, null);
  }
  const styles = new Map((adapterInfo?.styles ?? []).map((s) => [s.id, s]));

  const start = (req: Omit<GenerateRequest, 'user' | 'adapter'>, signal?: AbortSignal) => {
    const refs: AdapterRef[] = userRef ? [userRef] : [];
    const used: { id: string; version: string; weight: number }[] = [];
    for (const sw of req.styles ?? []) {
      const st = styles.get(sw.id);
      if (!st)
        throw new TailorError(404, 'not_found', `this app has no active style adapter "${sw.id}" here`);
      if (sw.weight !== 0) refs.push(refOf(`style:${st.id}:${st.version}`, 'style', st.files, sw.weight));
      used.push({ id: st.id, version: st.version, weight: sw.weight });
    }
    const gen = engine.generate(req.prompt, {
      base: info.id,
      maxTokens: req.max_tokens ?? DEFAULTS.max_tokens,
      temperature: req.temperature ?? DEFAULTS.temperature,
      topP: req.top_p ?? DEFAULTS.top_p,
      topK: req.top_k ?? DEFAULTS.top_k,
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(req.stop ? { stop: req.stop } : {}),
      adapters: refs,
      ...(signal ? { signal } : {}),
    });
    const done = gen.result.then(
      (r): GenerateResponse => ({
        id: 'local',
        text: r.text,
        finish_reason: r.finishReason,
        model: info.id,
        adapter: adapter ? { version: adapter.version } : null,
        ...(used.length ? { styles: used } : {}),
        usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
        timings_ms: {
          first_token: Math.round(r.timings.firstTokenMs * 10) / 10,
          total: Math.round(r.timings.totalMs * 10) / 10,
        },
        seed: r.seed,
      }),
    );
    return { gen, done };
  };

  return {
    user,
    adapter: adapter ? { version: adapter.version } : null,
    downloads: { model: { bytes: modelBytes, cached: modelCached }, adapter },
    generate(req, opts = {}) {
      const ctrl = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, ctrl.signal]) : ctrl.signal;
      const { gen, done } = start(req, signal);
      done.catch(() => {});
      return {
        id: done.then((d) => d.id),
        done,
        cancel: () => ctrl.abort(new DOMException('cancelled', 'AbortError')),
        async *[Symbol.asyncIterator]() {
          for await (const p of gen) yield { text: p.text };
        },
      };
    },
    async complete(req, opts = {}) {
      const { gen, done } = start(req, opts.signal);
      for await (const _ of gen) {
        // drain: the result is complete once the stream ends
      }
      return done;
    },
  };
}
