import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createApp, findAppByApiKey } from '../db/apps.js';
import { S3Store } from '../storage/s3-store.js';
import { FileStore } from './file-store.js';
import { openBlobStore, openDatabase } from './open.js';

describe('Node services from config', () => {
  it('keeps PGlite data in TAILOR_DATA_DIR across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tailor-data-'));
    try {
      const config = loadConfig({ TAILOR_DATA_DIR: dir });
      const first = await openDatabase(config.database);
      const { apiKey, app } = await createApp(first.db, { name: 'persisted' });
      await first.close();
      const second = await openDatabase(config.database);
      expect((await findAppByApiKey(second.db, apiKey))?.id).toBe(app.id);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('picks the file store by default and S3 when a bucket is set', () => {
    expect(openBlobStore(loadConfig({ TAILOR_DATA_DIR: '/tmp/x' }).storage)).toBeInstanceOf(FileStore);
    const s3 = openBlobStore(loadConfig({ S3_BUCKET: 'b', S3_ENDPOINT: 'http://127.0.0.1:1' }).storage);
    expect(s3).toBeInstanceOf(S3Store);
    expect((s3 as S3Store).bucket).toBe('b');
  });
});
