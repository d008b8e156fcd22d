import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBaseModel } from '../db/base-models.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { MemoryStore } from '../storage/memory-store.js';
import { publishBaseModel } from './base-model.js';
import { openPglite } from './pglite.js';

let database: Database;
beforeAll(async () => {
  database = await openPglite();
  await migrate(database.db);
});
afterAll(() => database.close());

describe('publishBaseModel', () => {
  it('uploads the package once, again only when a file changed, and records the weights hash', async () => {
    const models = mkdtempSync(join(tmpdir(), 'tailor-models-'));
    cpSync(join(import.meta.dirname, '../../models/brown-4m'), join(models, 'brown-4m'), {
      recursive: true,
    });
    const store = new MemoryStore();
    const first = await publishBaseModel(store, database.db, models, 'brown-4m');
    expect(first.uploaded).toBe(true);
    expect((await store.list('models/brown-4m/')).map((b) => b.key.split('/').pop())).toEqual(
      expect.arrayContaining([
        'config.json',
        'model.onnx',
        'model.safetensors',
        'replay.bin',
        'tokenizer.json',
      ]),
    );
    expect((await publishBaseModel(store, database.db, models, 'brown-4m')).uploaded).toBe(false);
    writeFileSync(join(models, 'brown-4m', 'replay.bin'), new Uint8Array(8));
    const again = await publishBaseModel(store, database.db, models, 'brown-4m');
    expect(again.uploaded).toBe(true);
    expect(again.hash).toBe(first.hash); // same weights
    expect((await store.get('models/brown-4m/replay.bin'))?.length).toBe(8);
    expect((await getBaseModel(database.db, 'brown-4m'))?.hash).toBe(first.hash);
  });
});
