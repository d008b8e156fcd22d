import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMigrationSources } from './migration-sources.js';
import { migrations } from './migrations/index.js';

describe('bundled migrations', () => {
  it('match the SQL files drizzle-kit wrote (run `npm run db:generate` when this fails)', () => {
    const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');
    expect(migrations).toEqual(readMigrationSources(dir));
  });
});
