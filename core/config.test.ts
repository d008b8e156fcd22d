import { describe, expect, it } from 'vitest';
import { ConfigError, environmentVariables, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults: PGlite and the file store under .tailor', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8787);
    expect(c.database).toEqual({ driver: 'pglite', dataDir: '.tailor' });
    expect(c.storage).toEqual({ driver: 'file', root: '.tailor/storage' });
    expect(c.baseModel).toBe('brown-4m');
    expect(c.limits).toEqual({
      maxBodyBytes: 1024 * 1024,
      maxPromptTokens: 192,
      rateLimitPerMinute: 600,
      rateLimitPerUserPerMinute: 60,
    });
    expect(c.training).toEqual({
      intervalS: 3600,
      minFeedback: 8,
      cooldownS: 3600,
      method: 'lora',
      prefixTokens: 16,
    });
    expect(c.worker).toEqual({
      inProcess: true,
      schedule: true,
      device: 'auto',
      threads: 1,
      trainTimeoutS: 3600,
      leaseS: 120,
    });
    expect(c.engine.adapterLoadTimeoutMs).toBe(2000);
    expect(c.auth).toEqual({ clockSkewS: 5, maxLifetimeS: 7 * 86_400 });
    expect(c.host).toBe('127.0.0.1');
    expect(c.shutdownGraceS).toBe(10);
    expect(c.adminToken).toBeUndefined();
    expect(c.urlSecret).toBeUndefined();
  });

  it('makes the data paths absolute with the runtime resolver, once, for every part that uses them', () => {
    const c = loadConfig({ TAILOR_DATA_DIR: 'data/x' }, { resolvePath: (p) => `/srv/tailor/${p}` });
    expect(c.dataDir).toBe('/srv/tailor/data/x');
    expect(c.database).toEqual({ driver: 'pglite', dataDir: '/srv/tailor/data/x' });
    expect(c.storage).toEqual({ driver: 'file', root: '/srv/tailor/data/x/storage' });
  });

  it('reads the worker settings and the flags in every spelling', () => {
    for (const [v, want] of [
      ['0', false],
      ['off', false],
      ['No', false],
      ['1', true],
      ['TRUE', true],
      ['on', true],
    ] as const) {
      expect(loadConfig({ TAILOR_WORKER: v }).worker.inProcess, v).toBe(want);
    }
    const c = loadConfig({
      TAILOR_SCHEDULE: 'false',
      TAILOR_TRAIN_DEVICE: 'cuda:1',
      TAILOR_TRAIN_THREADS: '4',
    });
    expect(c.worker).toMatchObject({ inProcess: true, schedule: false, device: 'cuda:1', threads: 4 });
  });

  it('lists every variable with its default and a description', () => {
    const vars = environmentVariables();
    expect(vars.map((v) => v.name)).toContain('TRAIN_MIN_FEEDBACK');
    expect(vars.find((v) => v.name === 'PORT')?.default).toBe('8787');
    expect(vars.find((v) => v.name === 'TAILOR_WORKER')?.default).toBe('1');
    expect(vars.find((v) => v.name === 'DATABASE_URL')?.default).toBeUndefined();
    for (const v of vars) expect(v.description.length, v.name).toBeGreaterThan(10);
  });

  it('coerces numbers and flags, and reads Postgres and S3 settings', () => {
    const c = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgres://u:p@db:5432/tailor',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'adapters',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
      TRAIN_MIN_FEEDBACK: '3',
      ADMIN_TOKEN: 'a-long-enough-admin-token',
      UNRELATED: 'ignored',
    });
    expect(c.port).toBe(9000);
    expect(c.database).toEqual({
      driver: 'postgres',
      url: 'postgres://u:p@db:5432/tailor',
      connectTimeoutS: 5,
    });
    expect(c.storage).toEqual({
      driver: 's3',
      timeoutMs: 10_000,
      bucket: 'adapters',
      endpoint: 'http://127.0.0.1:9000',
      region: 'auto',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(c.training.minFeedback).toBe(3);
  });

  it('limits signed downloads per link and per address, and trusts no proxy header unless one is named', () => {
    const c = loadConfig({});
    expect(c.downloads).toEqual({ perLinkPerMinute: 30, perAddressPerMinute: 120, maxStreamsPerAddress: 16 });
    expect(c.trustedProxyHeader).toBeUndefined();
    expect(loadConfig({ TRUSTED_PROXY_HEADER: ' X-Forwarded-For ' }).trustedProxyHeader).toBe(
      'x-forwarded-for',
    );
    expect(loadConfig({ TRUSTED_PROXY_HEADER: '' }).trustedProxyHeader).toBeUndefined();
    expect(() => loadConfig({ TRUSTED_PROXY_HEADER: 'x-forwarded-for: 1.2.3.4' })).toThrow(ConfigError);
    const tight = loadConfig({ DOWNLOAD_LIMIT_PER_LINK: '0', DOWNLOAD_STREAMS_PER_ADDRESS: '2' });
    expect(tight.downloads).toMatchObject({ perLinkPerMinute: 0, maxStreamsPerAddress: 2 });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', S3_ENDPOINT: ' ', ADMIN_TOKEN: '' }).database.driver).toBe(
      'pglite',
    );
  });

  it('is frozen', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
  });

  it('refuses bad values and inconsistent combinations, listing every problem', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).issues.map((i) => i.path);
      }
      throw new Error('accepted');
    };
    expect(bad({ PORT: 'eighty' })).toEqual(['PORT']);
    expect(bad({ PORT: '70000', MAX_PROMPT_TOKENS: '0' })).toEqual(['PORT', 'MAX_PROMPT_TOKENS']);
    expect(bad({ S3_ENDPOINT: 'http://minio:9000' })).toContain('S3_BUCKET');
    expect(bad({ S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'id' })).toEqual(['S3_SECRET_ACCESS_KEY']);
    expect(bad({ DATABASE_URL: 'mysql://x' })).toEqual(['DATABASE_URL']);
    expect(bad({ S3_FORCE_PATH_STYLE: 'maybe' })).toEqual(['S3_FORCE_PATH_STYLE']);
    expect(bad({ ADMIN_TOKEN: 'short' })).toEqual(['ADMIN_TOKEN']);
    expect(bad({ TAILOR_URL_SECRET: 'short' })).toEqual(['TAILOR_URL_SECRET']);
    expect(bad({ TAILOR_TRAIN_DEVICE: 'tpu', TAILOR_WORKER: 'maybe' })).toEqual([
      'TAILOR_WORKER',
      'TAILOR_TRAIN_DEVICE',
    ]);
  });
});
