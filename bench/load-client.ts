// The load generator of the HTTP benchmarks (ingest, load, soak), run in a child process of its own (through
// bench/peers/child.ts) so its CPU is not the server's and not the bench's: a fixed number of keep-alive
// connections per operation, each a closed loop (the next request when the answer is in, optionally paced to
// at most one per `intervalMs`), for a duration. It counts answers by status, keeps every latency, and checks
// what it was asked to: the ids of accepted feedback (every one must be stored), the adapter version each
// generation applied (no silent fallback to the base model).
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';

/** One kind of request and how many connections send it. */
export type OpSpec = {
  name: string;
  connections: number;
  /** A worker starts its next request no sooner than this after its last one started (0: at once). */
  intervalMs?: number;
} & (
  | { kind: 'healthz' }
  | {
      kind: 'feedback';
      apiKey: string;
      /** Users `${userPrefix}${0..users-1}`, drawn at random. */
      userPrefix: string;
      users: number;
      /** Idempotency keys `${keyPrefix}${n}`: unique across the run (a counter per op, never reused). */
      keyPrefix: string;
    }
  | {
      kind: 'generate';
      apiKey: string;
      userPrefix: string;
      users: number;
      maxTokens: number;
      /**
       * When set, every user has an active adapter whose version is `${versionPrefix}${hex6(i)}`: an answer
       * naming another version, or none, is counted as a mismatch. Unset: any version (or none) is fine.
       */
      versionPrefix?: string;
    }
  | { kind: 'adapter'; apiKey: string; userPrefix: string; users: number }
  | { kind: 'listing'; adminToken: string; appId: string }
);

export interface LoadSpec {
  base: string;
  durationS: number;
  ops: OpSpec[];
}

export interface OpResult {
  name: string;
  sent: number;
  /** Answers by HTTP status; `error` for requests that got no answer (socket errors). */
  byStatus: Record<string, number>;
  /** Requests that did not get the expected answer (wrong status, no answer, a failed check). */
  errors: number;
  /** A few of the failures, for the log. */
  errorSamples: string[];
  latenciesMs: number[];
  seconds: number;
  /** feedback: the ids answered with 201. */
  acceptedIds?: string[];
  /** generate: answers that applied the expected adapter, applied none, fell back, or named another. */
  adapter?: { applied: number; none: number; fallback: number; mismatch: number; completionTokens: number };
}

export const hex6 = (i: number) => i.toString(16).padStart(6, '0');

const TEXTS = [
  'The rain had stopped by the time she reached the harbour, and the boats lay still.',
  'He read the letter twice before he understood what it was asking of him.',
  'Nobody in the village remembered the winter the river froze all the way across.',
  'The detective opened the door slowly and looked at the empty room.',
];
const PROMPTS = ['Once upon a time', 'The detective opened the door and', 'In the morning the town was'];

interface Answer {
  status: number;
  body: string;
}

function send(
  agent: Agent,
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One operation's request maker and answer check; `check` returns a failure message or null. */
interface Op {
  make(n: number): { method: string; path: string; headers: Record<string, string>; body?: string };
  expect: number;
  check?(a: Answer, n: number): string | null;
}

function opOf(spec: OpSpec, result: OpResult): Op {
  const json = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const pick = (users: number) => Math.floor(Math.random() * users);
  switch (spec.kind) {
    case 'healthz':
      return { make: () => ({ method: 'GET', path: '/healthz', headers: {} }), expect: 200 };
    case 'feedback': {
      const ids: string[] = [];
      result.acceptedIds = ids;
      const headers = json(spec.apiKey);
      return {
        make: (n) => ({
          method: 'POST',
          path: '/v1/feedback',
          headers,
          body: JSON.stringify({
            user: `${spec.userPrefix}${pick(spec.users)}`,
            text: `${TEXTS[n % TEXTS.length]} (${n})`,
            rating: n % 5 === 4 ? -1 : 1,
            idempotency_key: `${spec.keyPrefix}${n}`,
          }),
        }),
        expect: 201,
        check: (a) => {
          const id = (JSON.parse(a.body) as { id?: unknown }).id;
          if (typeof id !== 'string') return `201 without an id: ${a.body.slice(0, 200)}`;
          ids.push(id);
          return null;
        },
      };
    }
    case 'generate': {
      const counts = { applied: 0, none: 0, fallback: 0, mismatch: 0, completionTokens: 0 };
      result.adapter = counts;
      const headers = json(spec.apiKey);
      const userOf = new Map<number, number>();
      return {
        make: (n) => {
          const u = pick(spec.users);
          userOf.set(n, u);
          return {
            method: 'POST',
            path: '/v1/generate',
            headers,
            body: JSON.stringify({
              user: `${spec.userPrefix}${u}`,
              prompt: PROMPTS[n % PROMPTS.length],
              max_tokens: spec.maxTokens,
              seed: n,
            }),
          };
        },
        expect: 200,
        check: (a, n) => {
          const u = userOf.get(n) as number;
          userOf.delete(n);
          const b = JSON.parse(a.body) as {
            adapter?: { version: string } | null;
            adapter_fallback?: { reason: string };
            usage?: { completion_tokens: number };
          };
          counts.completionTokens += b.usage?.completion_tokens ?? 0;
          if (b.adapter_fallback) {
            counts.fallback++;
            return `fallback for user ${u}: ${b.adapter_fallback.reason}`;
          }
          if (!b.adapter) {
            counts.none++;
            return spec.versionPrefix ? `no adapter applied for user ${u}` : null;
          }
          if (spec.versionPrefix && b.adapter.version !== `${spec.versionPrefix}${hex6(u)}`) {
            counts.mismatch++;
            return `user ${u} got version ${b.adapter.version}`;
          }
          counts.applied++;
          return null;
        },
      };
    }
    case 'adapter': {
      const headers = { authorization: `Bearer ${spec.apiKey}` };
      return {
        make: () => ({
          method: 'GET',
          path: `/v1/users/${spec.userPrefix}${pick(spec.users)}/adapter`,
          headers,
        }),
        expect: 200,
      };
    }
    case 'listing': {
      const headers = { authorization: `Bearer ${spec.adminToken}` };
      const paths = [
        `/admin/apps/${spec.appId}/feedback?limit=50`,
        `/admin/apps/${spec.appId}/users?limit=50`,
        `/admin/apps/${spec.appId}/generations?limit=20`,
        `/admin/apps/${spec.appId}/adapters?limit=50`,
        '/admin/jobs?limit=20',
      ];
      return {
        make: (n) => ({ method: 'GET', path: paths[n % paths.length] as string, headers }),
        expect: 200,
      };
    }
  }
}

async function runOp(base: URL, spec: OpSpec, until: number): Promise<OpResult> {
  const result: OpResult = {
    name: spec.name,
    sent: 0,
    byStatus: {},
    errors: 0,
    errorSamples: [],
    latenciesMs: [],
    seconds: 0,
  };
  const op = opOf(spec, result);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const fail = (msg: string) => {
    result.errors++;
    if (result.errorSamples.length < 10) result.errorSamples.push(msg);
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (performance.now() < until) {
        const n = next++;
        const r = op.make(n);
        const s = performance.now();
        result.sent++;
        let a: Answer;
        try {
          a = await send(agent, base, r.method, r.path, r.headers, r.body);
        } catch (e) {
          result.latenciesMs.push(performance.now() - s);
          result.byStatus.error = (result.byStatus.error ?? 0) + 1;
          fail(`${r.method} ${r.path}: ${(e as Error).message}`);
          continue;
        }
        result.latenciesMs.push(performance.now() - s);
        result.byStatus[a.status] = (result.byStatus[a.status] ?? 0) + 1;
        if (a.status !== op.expect) fail(`${r.method} ${r.path}: ${a.status} ${a.body.slice(0, 300)}`);
        else {
          const problem = op.check?.(a, n) ?? null;
          if (problem) fail(problem);
        }
        const wait = (spec.intervalMs ?? 0) - (performance.now() - s);
        if (wait > 0 && performance.now() + wait < until) await new Promise((res) => setTimeout(res, wait));
      }
    }),
  );
  result.seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return result;
}

/** Runs every operation of the spec at once for its duration. */
export async function runLoad(spec: LoadSpec): Promise<OpResult[]> {
  const base = new URL(spec.base);
  const until = performance.now() + spec.durationS * 1000;
  return Promise.all(spec.ops.map((o) => runOp(base, o, until)));
}

// As a child process: one `{ spec }` message per run, answered with `{ results }`; `{ exit: true }` ends it.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.send) {
  process.on('message', (m: { spec?: LoadSpec; exit?: boolean }) => {
    if (m.exit) process.exit(0);
    if (!m.spec) return;
    runLoad(m.spec).then(
      (results) => process.send?.({ results }),
      (e: Error) => process.send?.({ error: e.stack ?? e.message }),
    );
  });
}
