import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (in process, no server, browser, trainer or model run: `npm run test:unit`, well under
 * 30 s), `web` (the console's components, in happy-dom) and `integration` (everything that starts something).
 * `npm test` runs them all.
 */
const INTEGRATION = [
  'test/{e2e,faults,scale,invalidation,readme,docs,metrics,personalization,responsiveness,console,openai-client,example,sdk}.test.ts',
  'bench/**/*.test.ts',
  'runtime/workers/{workerd,app-worker}.test.ts',
  'runtime/node/{cli,engine-pool}.test.ts',
  'gpu-worker/{orchestrator,cli-training,trainer-process,scheduler}.test.ts',
  'functions/routes/**/*.test.ts',
  'engine/{engine,parity,decoder,batch,lanes}.test.ts',
  'core/model/tokenizer.test.ts',
  'core/db/{pglite,postgres,compaction}.test.ts',
  'core/storage/{s3,r2}-store.test.ts',
  'core/node/{open,base-model}.test.ts',
];
const NEVER = ['node_modules/**', 'web/**', 'infra/workers/dist/**'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.test.ts'], exclude: [...NEVER, ...INTEGRATION] },
      },
      {
        extends: true,
        plugins: [react()],
        test: {
          name: 'web',
          include: ['web/src/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
          setupFiles: ['web/src/test-setup.ts'],
        },
      },
      { extends: true, test: { name: 'integration', include: INTEGRATION, exclude: NEVER } },
    ],
  },
});
