// The platform's settings, parsed once from an environment object by one zod schema (with coercion and
// cross-field checks), then frozen. Web-only: the caller passes the env (process.env on Node, the
// Worker's `env` binding on Workers); nothing here reads process.env. Each variable carries its description:
// docs/operations.md lists them all, and a test keeps the two in step.

import { z } from 'zod';
import { MAX_PREFIX_TOKENS, PEFT_METHODS, type PeftMethod } from '../schema/training.js';

const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['', '0', 'false', 'no', 'off'];

/** "1", "true", "yes", "on" (any case) are true; "0", "false", "no", "off", "" false. */
export function parseFlag(v: string | boolean): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = v.trim().toLowerCase();
  return TRUE.includes(s) ? true : FALSE.includes(s) ? false : undefined;
}

const flag = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  const b = parseFlag(v);
  if (b !== undefined) return b;
  ctx.addIssue({ code: 'custom', message: `expected a boolean, got ${JSON.stringify(v)}` });
  return z.NEVER;
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const secret = (name: string) =>
  optionalText.pipe(z.string().min(16, `${name} must be at least 16 characters`).optional());

export const envSchema = z
  .object({
    PORT: int(1, 65_535).default(8787).describe('HTTP port of the API'),
    HOST: z.string().trim().min(1).default('127.0.0.1').describe('address the API listens on (0.0.0.0: all)'),
    SHUTDOWN_GRACE_S: int(0, 600)
      .default(10)
      .describe(
        'on SIGTERM, seconds requests in flight may take to finish; streams still running then end with an error event',
      ),
    TAILOR_DATA_DIR: z
      .string()
      .trim()
      .min(1)
      .default('.tailor')
      .describe(
        'embedded data: PGlite, the storage directory, the worker cache (relative: to where the process starts)',
      ),
    DATABASE_URL: optionalText
      .pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional())
      .describe('PostgreSQL; PGlite in TAILOR_DATA_DIR when unset'),
    DB_CONNECT_TIMEOUT_S: int(1, 300)
      .default(5)
      .describe('seconds to wait for a PostgreSQL connection before a request is answered 503'),
    S3_ENDPOINT: optionalText
      .pipe(z.url({ protocol: /^https?$/ }).optional())
      .describe('S3 API endpoint (R2, MinIO); AWS when unset and S3_BUCKET is set'),
    S3_BUCKET: optionalText.describe('bucket for models and adapters; the local directory store when unset'),
    S3_REGION: optionalText.describe('region; `auto` with an endpoint, else us-east-1'),
    S3_ACCESS_KEY_ID: optionalText.describe('credentials; the SDK default chain when unset'),
    S3_SECRET_ACCESS_KEY: optionalText.describe('credentials, with S3_ACCESS_KEY_ID'),
    S3_FORCE_PATH_STYLE: flag
      .default(false)
      .describe('bucket in the path, not the host name (MinIO, local servers)'),
    STORAGE_TIMEOUT_MS: int(100, 600_000)
      .default(10_000)
      .describe('milliseconds an S3 request may take (connect, then each response) before it fails'),
    ADMIN_TOKEN: secret('ADMIN_TOKEN').describe(
      'opens the admin API; `npm start` generates one for the run when unset',
    ),
    TAILOR_URL_SECRET: secret('TAILOR_URL_SECRET').describe(
      'signs download links and generation ids (the same on every API process); on Node when unset, kept in the data dir; required on Workers',
    ),
    TAILOR_PUBLIC_URL: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "the origin download links point at (e.g. https://api.example.com); the request's own when unset",
      ),
    TOKEN_CLOCK_SKEW_S: int(0, 600)
      .default(5)
      .describe('seconds of clock drift tolerated on user tokens (exp, nbf)'),
    TOKEN_MAX_LIFETIME_S: int(60, 366 * 86_400)
      .default(7 * 86_400)
      .describe('the longest a user token may live: exp more than this after now is refused'),
    TAILOR_BASE_MODEL: z
      .string()
      .trim()
      .min(1)
      .default('brown-4m')
      .describe('the base model served (models/<id>/)'),
    TAILOR_IMPORT_ROOTS: z
      .string()
      .optional()
      .describe(
        'directories (":"-separated) POST /admin/models may import a checkpoint from by path (default <TAILOR_DATA_DIR>/imports)',
      ),
    TAILOR_SERVED_CONTEXT: int(16, 131_072)
      .default(512)
      .describe('positions served per sequence on an imported base (its own maximum when smaller)'),
    MAX_UPLOAD_BYTES: int(1024, 64 * 1024 * 1024 * 1024)
      .default(4 * 1024 * 1024 * 1024)
      .describe('largest checkpoint file uploaded to /admin/model-uploads (413 above)'),
    MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('largest request body (413 above)'),
    MAX_PROMPT_TOKENS: int(1, 8192).default(192).describe('longest prompt in tokens (422 above)'),
    RATE_LIMIT_PER_MINUTE: int(0, 1_000_000)
      .default(600)
      .describe(
        "units of work per minute per API key (docs/api.md, Rate limits); 0 = unlimited (an app's settings override it)",
      ),
    RATE_LIMIT_PER_USER_PER_MINUTE: int(0, 1_000_000)
      .default(60)
      .describe("units of work per minute per end user; 0 = unlimited (an app's settings override it)"),
    DOWNLOAD_LIMIT_PER_LINK: int(0, 1_000_000)
      .default(30)
      .describe('requests per minute to one signed download link (/v1/files/…); 0 = unlimited'),
    DOWNLOAD_LIMIT_PER_ADDRESS: int(0, 1_000_000)
      .default(120)
      .describe('requests per minute to signed download links from one client address; 0 = unlimited'),
    DOWNLOAD_STREAMS_PER_ADDRESS: int(0, 10_000)
      .default(16)
      .describe('downloads one client address may have in flight at once (429 beyond); 0 = unlimited'),
    TRUSTED_PROXY_HEADER: optionalText
      .pipe(
        z
          .string()
          .regex(/^[A-Za-z0-9-]+$/, 'a header name, e.g. x-forwarded-for')
          .transform((h) => h.toLowerCase())
          .optional(),
      )
      .describe(
        "header a trusted proxy names the client's address in (x-forwarded-for: its last entry); unset: the connection's",
      ),
    TRAIN_INTERVAL_S: int(0, 7 * 24 * 3600)
      .default(3600)
      .describe('seconds between automatic training cycles; 0 = on demand only'),
    TRAIN_MIN_FEEDBACK: int(1, 100_000)
      .default(8)
      .describe("new usable feedback items that make a user due (an app's settings override it)"),
    TRAIN_COOLDOWN_S: int(0, 30 * 24 * 3600)
      .default(3600)
      .describe("seconds after a user's last training before the next (an app's settings override it)"),
    TRAIN_METHOD: z
      .enum(PEFT_METHODS)
      .default('lora')
      .describe(
        "what a user's training makes: `lora` (LoRA pairs) or `prefix` (prefix tuning's keys and values)",
      ),
    TRAIN_PREFIX_TOKENS: int(1, MAX_PREFIX_TOKENS)
      .default(16)
      .describe(
        'virtual tokens of a prefix (TRAIN_METHOD=prefix): positions it takes of the 256-token window',
      ),
    TAILOR_WORKER: flag
      .default(true)
      .describe('run the training worker inside the API process (`npm start`)'),
    TAILOR_SCHEDULE: flag
      .default(true)
      .describe('this worker runs the interval cycles (set 0 on all workers but one)'),
    TAILOR_TRAIN_DEVICE: z
      .string()
      .trim()
      .regex(/^(auto|cpu|cuda(:\d+)?)$/, 'auto, cpu, cuda or cuda:N')
      .default('auto')
      .describe('where the trainer runs: auto, cpu, cuda, cuda:N'),
    TAILOR_TRAIN_THREADS: int(1, 256)
      .default(1)
      .describe('CPU threads per trainer process (1 is fastest on a busy shared CPU)'),
    TRAIN_TIMEOUT_S: int(10, 7 * 24 * 3600)
      .default(3600)
      .describe('seconds a trainer process may run; then it is killed and the job attempt fails'),
    TAILOR_JOB_LEASE_S: int(5, 3600)
      .default(120)
      .describe("seconds a worker's claim on a job lasts without a heartbeat (another worker takes it then)"),
    TAILOR_PYTHON: optionalText.describe(
      'the Python with torch for the trainer; /usr/bin/python3 when unset',
    ),
    ENGINE_THREADS: z
      .string()
      .trim()
      .regex(/^(auto|\d{1,2})$/, 'auto or a number of threads (0: decode on the HTTP thread)')
      .default('auto')
      .describe('worker threads that decode (Node); auto = one per core, 0 = in the HTTP thread'),
    MEMORY_TOKENS: int(8, 1024)
      .default(96)
      .describe(
        "tokens of the user's own passages placed before the prompt with memory on (at most 3/8 of the model's context)",
      ),
    ADAPTER_LOAD_TIMEOUT_MS: int(10, 600_000)
      .default(2_000)
      .describe(
        'milliseconds a request waits for its adapter to load; then the base model serves it (the load goes on)',
      ),
    TAILOR_MAX_BATCH: int(1, 64)
      .default(16)
      .describe(
        'generations an engine thread decodes together in one run at most (each with its own adapter); 1 = each alone',
      ),
    TAILOR_BATCH_WAIT_MS: int(0, 1000)
      .default(0)
      .describe(
        'when nothing decodes, how long a request waits for others to start a batch with it (once a batch runs, newcomers join at its next step)',
      ),
    TAILOR_BASE_ONLY_GRAPH: flag
      .default(true)
      .describe(
        'requests without a LoRA run the graph without LoRA inputs (a second session per engine thread: ~20 MB)',
      ),
    TAILOR_ENGINE_RUNTIME: z
      .enum(['wasm', 'native'])
      .default('wasm')
      .describe(
        'where sessions run on Node: wasm (onnxruntime-web, one thread: what Workers and devices run) or native (onnxruntime-node, for large imported bases)',
      ),
    TAILOR_ENGINE_INTRA_THREADS: int(1, 64)
      .default(1)
      .describe("native runtime: intra-op threads of each engine thread's sessions"),
    TAILOR_MERGE_HOT: int(0, 64)
      .default(0)
      .describe(
        'adapter sets (users) merged into a session of their own per engine thread when they are served most (~20 MB each); 0 = off',
      ),
    ADAPTER_CACHE_MB: int(1, 65_536)
      .default(64)
      .describe('memory for adapter tensors, all engine threads together'),
    TAILOR_INVALIDATION_POLL_MS: int(100, 600_000)
      .default(5_000)
      .describe(
        'milliseconds between looks at what other processes changed (erasures, revoked keys, new active adapters): the most a cache lags when notices are lost; Workers look at most this often, per request',
      ),
    TAILOR_INVALIDATION_LISTEN: flag
      .default(true)
      .describe(
        "hear other processes' changes at once by PostgreSQL LISTEN/NOTIFY (off behind a transaction-mode pooler, which drops notices: polling alone)",
      ),
    TAILOR_COMPACTION_INTERVAL_S: int(1, 86_400)
      .default(300)
      .describe(
        'embedded database only: seconds between passes that rewrite the tables erasures left rows in, so erased bytes leave the data directory (docs/operations.md, "Erasure")',
      ),
    WEBHOOKS_DELIVER: flag
      .default(true)
      .describe(
        'deliver webhooks from this API process (`npm start`); several processes share the work safely',
      ),
    WEBHOOK_TIMEOUT_MS: int(100, 120_000)
      .default(10_000)
      .describe('milliseconds a webhook endpoint may take to answer before the attempt fails'),
    WEBHOOK_MAX_ATTEMPTS: int(1, 50)
      .default(8)
      .describe('attempts per webhook delivery before it is marked failed'),
    WEBHOOK_RETRY_BASE_MS: int(1, 86_400_000)
      .default(30_000)
      .describe(
        'milliseconds before the second attempt of a failed webhook; each later wait is 4 times longer',
      ),
    WEBHOOK_RETRY_MAX_MS: int(1, 7 * 86_400_000)
      .default(6 * 3_600_000)
      .describe('the longest wait between two webhook attempts'),
    WEBHOOK_POLL_MS: int(10, 60_000)
      .default(1_000)
      .describe('milliseconds between looks for due webhook deliveries'),
    WEBHOOK_ALLOW_PRIVATE_URLS: flag
      .default(false)
      .describe(
        'allow webhook URLs naming localhost or a loopback, private or link-local IP address (tests, one-machine setups)',
      ),
  })
  .superRefine((env, ctx) => {
    if (env.S3_ENDPOINT && !env.S3_BUCKET) {
      ctx.addIssue({
        code: 'custom',
        path: ['S3_BUCKET'],
        message: 'S3_BUCKET is required when S3_ENDPOINT is set',
      });
    }
    if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['S3_SECRET_ACCESS_KEY'],
        message: 'set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither',
      });
    }
    if ((env.S3_ACCESS_KEY_ID || env.S3_REGION) && !env.S3_BUCKET) {
      ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'S3 settings given without S3_BUCKET' });
    }
  });

type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  shutdownGraceS: number;
  dataDir: string;
  database:
    | { driver: 'postgres'; url: string; connectTimeoutS: number }
    | { driver: 'pglite'; dataDir: string };
  storage:
    | {
        driver: 's3';
        timeoutMs: number;
        bucket: string;
        endpoint?: string;
        region: string;
        forcePathStyle: boolean;
        credentials?: { accessKeyId: string; secretAccessKey: string };
      }
    | { driver: 'file'; root: string };
  adminToken?: string;
  urlSecret?: string;
  auth: { clockSkewS: number; maxLifetimeS: number };
  /** The origin of the links the API hands out; the request's own when absent. */
  publicUrl?: string;
  /** Importing Hugging Face checkpoints: where paths may point, what is served, how large an upload may be. */
  imports: { roots: string[]; servedContext: number; maxUploadBytes: number };
  baseModel: string;
  limits: {
    maxBodyBytes: number;
    maxPromptTokens: number;
    rateLimitPerMinute: number;
    rateLimitPerUserPerMinute: number;
  };
  /** Signed file downloads (/v1/files): token buckets per link and per client address (0 = unlimited). */
  downloads: { perLinkPerMinute: number; perAddressPerMinute: number; maxStreamsPerAddress: number };
  /** Lower-case name of the header a trusted proxy puts the client's address in; absent: none is trusted. */
  trustedProxyHeader?: string;
  training: {
    intervalS: number;
    minFeedback: number;
    cooldownS: number;
    /** What users' training makes (TRAIN_METHOD), and a prefix's virtual tokens. */
    method: PeftMethod;
    prefixTokens: number;
  };
  worker: {
    inProcess: boolean;
    schedule: boolean;
    device: string;
    threads: number;
    python?: string;
    trainTimeoutS: number;
    leaseS: number;
  };
  /** `threads`: 'auto' (one per core, the Node runtime decides) or a number; 0 decodes on the HTTP thread. */
  engine: {
    threads: 'auto' | number;
    adapterCacheBytes: number;
    adapterLoadTimeoutMs: number;
    maxBatch: number;
    batchWaitMs: number;
    baseOnlyGraph: boolean;
    mergeHot: number;
    /** Where sessions run (Node): onnxruntime-web's wasm, or onnxruntime-node with `intraThreads` each. */
    runtime: 'wasm' | 'native';
    intraThreads: number;
  };
  /** `tokens`: the budget of memory in the model's context (capped by the model: see functions/memory). */
  memory: { tokens: number };
  /** How other processes' changes reach this one's caches (core/db/invalidations.ts). */
  invalidations: { pollMs: number; listen: boolean };
  /** The embedded database's compaction after erasures (core/db/compaction.ts). */
  compaction: { intervalMs: number };
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Run a deliverer in the API process. */
  deliver: boolean;
  timeoutMs: number;
  maxAttempts: number;
  /** The wait after the first failed attempt; the n-th waits base × 4^(n−1), at most retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  allowPrivateUrls: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const join = (dir: string, sub: string) => `${dir.replace(/\/+$/, '')}/${sub}`;

export interface LoadOptions {
  /**
   * Makes a file system path absolute (Node: `path.resolve`). Paths cross process boundaries (the trainer runs
   * in a directory of its own), so the runtime that makes them resolves them once, here.
   */
  resolvePath?: (path: string) => string;
}

/** Parses the environment (unknown variables are ignored); throws ConfigError listing every problem. */
export function loadConfig(
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(env)', message: i.message })),
    );
  }
  const e: Env = parsed.data;
  const dataDir = opts.resolvePath ? opts.resolvePath(e.TAILOR_DATA_DIR) : e.TAILOR_DATA_DIR;
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    shutdownGraceS: e.SHUTDOWN_GRACE_S,
    dataDir,
    database: e.DATABASE_URL
      ? { driver: 'postgres', url: e.DATABASE_URL, connectTimeoutS: e.DB_CONNECT_TIMEOUT_S }
      : { driver: 'pglite', dataDir },
    storage: e.S3_BUCKET
      ? {
          driver: 's3',
          bucket: e.S3_BUCKET,
          timeoutMs: e.STORAGE_TIMEOUT_MS,
          ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
          region: e.S3_REGION ?? (e.S3_ENDPOINT ? 'auto' : 'us-east-1'),
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
            ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } }
            : {}),
        }
      : { driver: 'file', root: join(dataDir, 'storage') },
    ...(e.ADMIN_TOKEN ? { adminToken: e.ADMIN_TOKEN } : {}),
    ...(e.TAILOR_URL_SECRET ? { urlSecret: e.TAILOR_URL_SECRET } : {}),
    auth: { clockSkewS: e.TOKEN_CLOCK_SKEW_S, maxLifetimeS: e.TOKEN_MAX_LIFETIME_S },
    ...(e.TAILOR_PUBLIC_URL ? { publicUrl: new URL(e.TAILOR_PUBLIC_URL).origin } : {}),
    baseModel: e.TAILOR_BASE_MODEL,
    imports: {
      roots: (e.TAILOR_IMPORT_ROOTS ? e.TAILOR_IMPORT_ROOTS.split(':') : [join(dataDir, 'imports')])
        .filter(Boolean)
        .map((r) => (opts.resolvePath ? opts.resolvePath(r) : r)),
      servedContext: e.TAILOR_SERVED_CONTEXT,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
    },
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxPromptTokens: e.MAX_PROMPT_TOKENS,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      rateLimitPerUserPerMinute: e.RATE_LIMIT_PER_USER_PER_MINUTE,
    },
    downloads: {
      perLinkPerMinute: e.DOWNLOAD_LIMIT_PER_LINK,
      perAddressPerMinute: e.DOWNLOAD_LIMIT_PER_ADDRESS,
      maxStreamsPerAddress: e.DOWNLOAD_STREAMS_PER_ADDRESS,
    },
    ...(e.TRUSTED_PROXY_HEADER ? { trustedProxyHeader: e.TRUSTED_PROXY_HEADER } : {}),
    training: {
      intervalS: e.TRAIN_INTERVAL_S,
      minFeedback: e.TRAIN_MIN_FEEDBACK,
      cooldownS: e.TRAIN_COOLDOWN_S,
      method: e.TRAIN_METHOD,
      prefixTokens: e.TRAIN_PREFIX_TOKENS,
    },
    worker: {
      inProcess: e.TAILOR_WORKER,
      schedule: e.TAILOR_SCHEDULE,
      device: e.TAILOR_TRAIN_DEVICE,
      threads: e.TAILOR_TRAIN_THREADS,
      ...(e.TAILOR_PYTHON ? { python: e.TAILOR_PYTHON } : {}),
      trainTimeoutS: e.TRAIN_TIMEOUT_S,
      leaseS: e.TAILOR_JOB_LEASE_S,
    },
    engine: {
      threads: e.ENGINE_THREADS === 'auto' ? 'auto' : Number(e.ENGINE_THREADS),
      adapterCacheBytes: e.ADAPTER_CACHE_MB * 1024 * 1024,
      adapterLoadTimeoutMs: e.ADAPTER_LOAD_TIMEOUT_MS,
      maxBatch: e.TAILOR_MAX_BATCH,
      batchWaitMs: e.TAILOR_BATCH_WAIT_MS,
      baseOnlyGraph: e.TAILOR_BASE_ONLY_GRAPH,
      mergeHot: e.TAILOR_MERGE_HOT,
      runtime: e.TAILOR_ENGINE_RUNTIME,
      intraThreads: e.TAILOR_ENGINE_INTRA_THREADS,
    },
    memory: { tokens: e.MEMORY_TOKENS },
    invalidations: { pollMs: e.TAILOR_INVALIDATION_POLL_MS, listen: e.TAILOR_INVALIDATION_LISTEN },
    compaction: { intervalMs: e.TAILOR_COMPACTION_INTERVAL_S * 1000 },
    webhooks: {
      deliver: e.WEBHOOKS_DELIVER,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
      pollMs: e.WEBHOOK_POLL_MS,
      allowPrivateUrls: e.WEBHOOK_ALLOW_PRIVATE_URLS,
    },
  };
  return deepFreeze(config);
}

/** Every variable the platform reads, with its default (as the environment would spell it) and description. */
export function environmentVariables(): { name: string; default: string | undefined; description: string }[] {
  const defaults = envSchema.parse({});
  return Object.entries(envSchema.shape).map(([name, schema]) => {
    const d = (defaults as Record<string, unknown>)[name];
    return {
      name,
      default: d === undefined ? undefined : typeof d === 'boolean' ? (d ? '1' : '0') : String(d),
      description: schema.description ?? '',
    };
  });
}
