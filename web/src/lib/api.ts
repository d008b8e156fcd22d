// The one way the console talks to the platform: JSON over fetch with the admin token, errors as ApiError
// (the server's `{ error: { code, message } }`), and Server-Sent Events for streamed generations.
import { session } from './session';
import { parseSse } from './sse';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function request(
  method: string,
  path: string,
  body?: unknown,
  token = session.token(),
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'the platform cannot be reached');
  }
  if (!res.ok) {
    let code = 'http_error';
    let message = `${res.status} ${res.statusText}`;
    try {
      const j = (await res.json()) as { error?: { code?: string; message?: string } };
      code = j.error?.code ?? code;
      message = j.error?.message ?? message;
    } catch {}
    throw new ApiError(res.status, code, message);
  }
  return res;
}

export const api = {
  async get<T>(path: string, query?: Query): Promise<T> {
    return (await request('GET', withQuery(path, query))).json() as Promise<T>;
  },
  async send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await request(method, path, body);
    return (res.status === 204 ? undefined : await res.json()) as T;
  },
  /** Checks a token before keeping it: true when the admin API accepts it. */
  async check(token: string): Promise<void> {
    await request('GET', '/admin/apps?limit=1', undefined, token);
  },
  /** A streamed generation: `onText` for each piece, then the final answer (the `done` event). */
  async stream<T>(
    path: string,
    body: unknown,
    onText: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    const token = session.token();
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ ...(body as object), stream: true }),
      ...(signal ? { signal } : {}),
    });
    if (!res.ok || !res.body) {
      const j = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiError(res.status, j.error?.code ?? 'http_error', j.error?.message ?? `${res.status}`);
    }
    for await (const ev of parseSse(res.body)) {
      const data = JSON.parse(ev.data) as { text?: string; error?: { code: string; message: string } };
      if (ev.event === 'token' && data.text !== undefined) onText(data.text);
      else if (ev.event === 'done') return data as T;
      else if (ev.event === 'error')
        throw new ApiError(503, data.error?.code ?? 'stream', data.error?.message ?? 'failed');
    }
    throw new ApiError(0, 'stream', 'the stream ended before its answer');
  },
};
