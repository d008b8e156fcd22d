// Bundles the SQL migrations drizzle-kit wrote into `schema/migrations/index.ts`, a plain module, so
// that `migrate(db)` needs no file system (Cloudflare Workers). Run by `npm run db:generate`;
// `schema/migrations.test.ts` fails when the bundle and the SQL files disagree.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationSources, renderMigrationsModule } from './migration-sources.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');
const out = join(dir, 'index.ts');
writeFileSync(out, renderMigrationsModule(readMigrationSources(dir)));
execFileSync('npx', ['biome', 'format', '--write', out], { stdio: 'inherit' });
console.log(`wrote ${out}`);
