// The platform's settings, parsed once from an environment object by one zod schema (with coercion and
// cross-field checks), then frozen. Web-only: the caller passes the env (process.env on Node, the
// Worker's `env` binding on Workers); nothing here reads process.env.

import { z } from 'zod';

const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** "1", "true", "yes", "on" (any case) are true; "0", "false", "no", "off", "" false. */
const flag = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: `expected a boolean, got ${JSON.stringify(v)}` });
  return z.NEVER;
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z
  .object({
    PORT: int(1, 65_535).default(8787),
    TAILOR_DATA_DIR: z.string().trim().min(1).default('.tailor'),
    /** PostgreSQL; PGlite in TAILOR_DATA_DIR when absent. */
    DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    /** S3 API storage; the local directory store when S3_ENDPOINT and S3_BUCKET are both absent. */
    S3_ENDPOINT: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    S3_BUCKET: optionalText,
    S3_REGION: optionalText,
    S3_ACCESS_KEY_ID: optionalText,
    S3_SECRET_ACCESS_KEY: optionalText,
    S3_FORCE_PATH_STYLE: flag.default(false),
    /** Admin API token; the admin routes are closed without one. */
    ADMIN_TOKEN: optionalText.pipe(
      z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
    ),
    TAILOR_BASE_MODEL: z.string().trim().min(1).default('brown-4m'),
    MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    MAX_PROMPT_TOKENS: int(1, 8192).default(192),
    /** Requests per minute per API key, and per end user; 0 = unlimited. */
    RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(600),
    RATE_LIMIT_PER_USER_PER_MINUTE: int(0, 1_000_000).default(60),
    /** Seconds between automatic training cycles; 0 = only on demand (POST /admin/training/run). */
    TRAIN_INTERVAL_S: int(0, 7 * 24 * 3600).default(3600),
    TRAIN_MIN_FEEDBACK: int(1, 100_000).default(8),
    TRAIN_COOLDOWN_S: int(0, 30 * 24 * 3600).default(3600),
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
  dataDir: string;
  database: { driver: 'postgres'; url: string } | { driver: 'pglite'; dataDir: string };
  storage:
    | {
        driver: 's3';
        bucket: string;
        endpoint?: string;
        region: string;
        forcePathStyle: boolean;
        credentials?: { accessKeyId: string; secretAccessKey: string };
      }
    | { driver: 'file'; root: string };
  adminToken?: string;
  baseModel: string;
  limits: {
    maxBodyBytes: number;
    maxPromptTokens: number;
    rateLimitPerMinute: number;
    rateLimitPerUserPerMinute: number;
  };
  training: { intervalS: number; minFeedback: number; cooldownS: number };
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

/** Parses the environment (unknown variables are ignored); throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(env)', message: i.message })),
    );
  }
  const e: Env = parsed.data;
  const config: Config = {
    port: e.PORT,
    dataDir: e.TAILOR_DATA_DIR,
    database: e.DATABASE_URL
      ? { driver: 'postgres', url: e.DATABASE_URL }
      : { driver: 'pglite', dataDir: e.TAILOR_DATA_DIR },
    storage: e.S3_BUCKET
      ? {
          driver: 's3',
          bucket: e.S3_BUCKET,
          ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
          region: e.S3_REGION ?? (e.S3_ENDPOINT ? 'auto' : 'us-east-1'),
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
            ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } }
            : {}),
        }
      : { driver: 'file', root: join(e.TAILOR_DATA_DIR, 'storage') },
    ...(e.ADMIN_TOKEN ? { adminToken: e.ADMIN_TOKEN } : {}),
    baseModel: e.TAILOR_BASE_MODEL,
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxPromptTokens: e.MAX_PROMPT_TOKENS,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      rateLimitPerUserPerMinute: e.RATE_LIMIT_PER_USER_PER_MINUTE,
    },
    training: {
      intervalS: e.TRAIN_INTERVAL_S,
      minFeedback: e.TRAIN_MIN_FEEDBACK,
      cooldownS: e.TRAIN_COOLDOWN_S,
    },
  };
  return deepFreeze(config);
}
