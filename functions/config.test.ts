import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

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
    expect(c.training).toEqual({ intervalS: 3600, minFeedback: 8, cooldownS: 3600 });
    expect(c.adminToken).toBeUndefined();
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
    expect(c.database).toEqual({ driver: 'postgres', url: 'postgres://u:p@db:5432/tailor' });
    expect(c.storage).toEqual({
      driver: 's3',
      bucket: 'adapters',
      endpoint: 'http://127.0.0.1:9000',
      region: 'auto',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(c.training.minFeedback).toBe(3);
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
  });
});
