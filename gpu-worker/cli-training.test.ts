// The operator CLI's training commands against a platform served over loopback, with a worker attached.
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAdapter } from '../engine/testing.js';
import { run } from '../runtime/node/cli.js';
import { freePort } from '../runtime/node/launch.js';
import { ADMIN, startPlatform, type TestPlatform } from '../test/support/platform.js';
import { BaseModels } from './base-model.js';
import { TrainingScheduler } from './scheduler.js';
import { Worker } from './worker.js';

let p: TestPlatform;
let server: ServerType;
let worker: Worker;
let appId: string;
let key: string;
const dir = mkdtempSync(join(tmpdir(), 'tailor-cli-training-'));

beforeAll(async () => {
  p = await startPlatform();
  ({ app_id: appId, api_key: key } = await p.newApp('cli-training'));
  worker = new Worker({
    db: p.database.db,
    store: p.store,
    baseModels: new BaseModels({ db: p.database.db, store: p.store, cacheDir: dir }),
    pollMs: 50,
    trainer: { device: 'cpu', threads: 1 },
    recipe: { train: { steps: 4, eval_every: 2, batch_size: 4, lr: 1e-2, max_len: 64 } },
    log: () => {},
    platformSecret: p.services.urlSecret,
  });
  worker.start();
  p.services.training = new TrainingScheduler({
    db: p.database.db,
    baseModel: p.services.baseModelId,
    policy: { intervalS: 0, minFeedback: 8, cooldownS: 0 },
    onEnqueued: () => worker.wake(),
    log: () => {},
  });
  const port = await freePort();
  server = serve({ fetch: p.app.fetch, port, hostname: '127.0.0.1' });
  process.env.TAILOR_URL = `http://127.0.0.1:${port}`;
  process.env.ADMIN_TOKEN = ADMIN;
}, 60_000);
afterAll(async () => {
  server.close();
  await worker.stop();
  await p.close();
});

describe('tailor train / styles', () => {
  it('trains named users and waits, printing what was published', async () => {
    for (let i = 0; i < 3; i++) {
      const text = `Captain Ilse Marrow sailed the Narrow Sea, log entry ${i}, and Ilse Marrow wrote it down.`;
      await p.call('POST', '/v1/feedback', { key, body: { user: 'reader', text, rating: 1 } });
    }
    expect(await run(['train', '--app', appId])).toMatch(/nobody is due/);
    const out = await run(['train', '--app', appId, '--user', 'reader', '--wait']);
    expect(out).toMatch(/reader\s+v\d{8}-\d{6}-[0-9a-f]{6}\s+(active|rejected)/);
    expect(await run(['jobs'])).toMatch(/train-users\s+succeeded/);
  }, 60_000);

  it('imports a PEFT directory as a style', async () => {
    const peft = join(dir, 'peft');
    await mkdir(peft, { recursive: true });
    const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
      r: 2,
      alpha: 4,
      targets: ['q_proj'],
      seed: 1,
      scale: 0.1,
    });
    await writeFile(join(peft, 'adapter_config.json'), files.config);
    await writeFile(join(peft, 'adapter_model.safetensors'), files.weights);
    expect(await run(['styles', 'import', appId, 'noir', peft])).toMatch(/style noir: v\S+ is active/);
    await expect(run(['styles', 'import', appId, 'noir', join(dir, 'missing')])).rejects.toThrow(
      /cannot read/,
    );
    await expect(run(['styles', 'train', appId, 'noir'])).rejects.toThrow(/--genre/);
  });
});
