import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations from schema/tables.ts, then bundles them into
// schema/migrations/index.ts so that `migrate(db)` runs without a file system (Workers).
export default defineConfig({
  dialect: 'postgresql',
  schema: './schema/tables.ts',
  out: './schema/migrations',
});
