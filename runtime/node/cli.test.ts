// The operator CLI against a platform served over real HTTP on loopback.
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyUserToken } from '../../functions/auth/jwt.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { run } from './cli.js';
import { freePort } from './launch.js';

let p: TestPlatform;
let server: ServerType;

beforeAll(async () => {
  p = await startPlatform();
  const port = await freePort();
  server = serve({ fetch: p.app.fetch, port, hostname: '127.0.0.1' });
  process.env.TAILOR_URL = `http://127.0.0.1:${port}`;
  process.env.ADMIN_TOKEN = ADMIN;
}, 60_000);
afterAll(async () => {
  server.close();
  await p.close();
});

describe('tailor CLI', () => {
  it('creates an app whose key works, lists apps, users and adapters', async () => {
    const out = await run(['apps', 'create', 'cli-app']);
    const appId = /app_id\s+(\S+)/.exec(out)?.[1] as string;
    const key = /api_key\s+(\S+)/.exec(out)?.[1] as string;
    const secret = /signing_secret\s+(\S+)/.exec(out)?.[1] as string;
    expect(appId).toMatch(/^app_/);
    const fb = await p.call('POST', '/v1/feedback', {
      key,
      body: { user: 'cli-reader', text: 'x', rating: 1 },
    });
    expect(fb.status).toBe(201);
    expect(await run(['apps', 'list'])).toContain('cli-app');
    expect(await run(['users', appId])).toContain('cli-reader');
    await p.activeAdapter(appId, 'cli-reader', 'v3');
    const adapters = await run(['adapters', appId, 'cli-reader']);
    expect(adapters).toMatch(/cli-reader\s+v3\s+active/);
    const token = await run(['token', secret, 'cli-reader', '--kid', appId, '--ttl', '60']);
    expect((await verifyUserToken(token, secret, Math.floor(Date.now() / 1000))).sub).toBe('cli-reader');
    const asReader = await p.call('POST', '/v1/feedback', { key: token, body: { text: 'y', rating: 1 } });
    expect(asReader.status).toBe(201); // the server takes it: it names its app
    // A token naming no app would be refused by the server: the CLI does not make one.
    await expect(run(['token', secret, 'cli-reader'])).rejects.toThrow(/--kid/);
  });

  it('takes a signing secret that starts with a dash as a value, not as an unknown option', async () => {
    const secret = `-N${'q'.repeat(41)}`; // base64url secrets start with '-' one time in 64
    const token = await run(['token', secret, 'dash-reader', '--kid', 'app_x', '--ttl', '60']);
    expect((await verifyUserToken(token, secret, Math.floor(Date.now() / 1000))).sub).toBe('dash-reader');
    await expect(run(['token', secret, 'dash-reader', '--kid', 'app_x', '--nope'])).rejects.toThrow(
      /Unknown option '--nope'/,
    );
  });

  it("shows an app's settings, marks what it set, changes and resets them", async () => {
    const appId = /app_id\s+(\S+)/.exec(await run(['apps', 'create', 'cli-settings']))?.[1] as string;
    expect(await run(['settings', appId])).toMatch(/training\.min_feedback\s+8\s*$/m);
    const changed = await run([
      'settings',
      appId,
      '--set',
      'training.min_feedback=3',
      '--set',
      'cors.allowed_origins=https://a.example,https://b.example',
      '--set',
      'defaults.adapter=none',
    ]);
    expect(changed).toMatch(/training\.min_feedback\s+3\s+\*/);
    expect(changed).toMatch(/cors\.allowed_origins\s+https:\/\/a\.example, https:\/\/b\.example\s+\*/);
    expect(changed).toMatch(/defaults\.adapter\s+none\s+\*/);
    const reset = await run(['settings', appId, '--reset', 'training.min_feedback']);
    expect(reset).toMatch(/training\.min_feedback\s+8\s*$/m);
    await expect(run(['settings', appId, '--set', 'training.min_feedback=0'])).rejects.toThrow(/422/);
    await expect(run(['settings', appId, '--set', 'nodot=1'])).rejects.toThrow(/section\.field/);
  });

  it('says what is wrong when the admin token is refused', async () => {
    process.env.ADMIN_TOKEN = 'wrong-token-0123456789';
    await expect(run(['apps', 'list'])).rejects.toThrow(/403: this route needs the admin token/);
    process.env.ADMIN_TOKEN = ADMIN;
  });

  it('prints help for an unknown command', async () => {
    expect(await run(['frobnicate'])).toContain('tailor apps create');
  });
});
