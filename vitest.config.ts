import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * Four projects: `unit` (in process, no server, browser, trainer or model run: `npm run test:unit`, well under
 * 30 s), `web` (the console's components, in happy-dom), `integration` (everything that starts something) and
 * `timed` (integration tests that assert how long something takes under load, or in a window another process
 * must meet). `npm test` runs them all: the first three side by side (most integration files wait on servers,
 * trainers and browsers more than they compute, so three at a time use two cores well), then the timed files
 * one at a time, on a machine nothing else loads.
 */
const INTEGRATION = [
  'test/{e2e,faults,scale,invalidation,readme,docs,metrics,personalization,responsiveness,console,openai-client,example,sdk,model-import}.test.ts',
  'bench/**/*.test.ts',
  'runtime/workers/{workerd,app-worker}.test.ts',
  'runtime/node/{cli,engine-pool,native-runtime}.test.ts',
  'gpu-worker/{orchestrator,cli-training,trainer-process,scheduler}.test.ts',
  'functions/routes/**/*.test.ts',
  'engine/{engine,parity,decoder,batch,lanes}.test.ts',
  'core/model/tokenizer.test.ts',
  'core/db/{pglite,postgres,compaction}.test.ts',
  'core/storage/{s3,r2}-store.test.ts',
  'core/node/{open,base-model}.test.ts',
];
const NEVER = ['node_modules/**', 'web/**', 'infra/workers/dist/**'];
/** Integration files with time bounds of their own: run alone, after the others. */
const TIMED = ['test/{faults,responsiveness,scale,invalidation}.test.ts'];
/** Files run at once in the first group. */
const WORKERS = 3;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
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
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION, exclude: [...NEVER, ...TIMED] },
      },
      {
        extends: true,
        test: { name: 'timed', include: TIMED, exclude: NEVER, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
