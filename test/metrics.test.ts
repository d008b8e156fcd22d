// /metrics passes Prometheus's own linter (`promtool check metrics`, Debian's prometheus package) on a scrape
// taken after real traffic: generations with and without an adapter, a streamed one, feedback, refused
// requests, a rate limit, an adapter that fails to load.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startPlatform, type TestPlatform } from './support/platform.js';

let p: TestPlatform;
let scrape: string;

beforeAll(async () => {
  p = await startPlatform({ RATE_LIMIT_PER_USER_PER_MINUTE: '3' });
  const app = await p.newApp('metrics');
  const key = app.api_key;
  await p.activeAdapter(app.app_id, 'tuned', 'v1');
  for (const user of ['plain', 'tuned']) {
    await p.call('POST', '/v1/generate', { key, body: { user, prompt: 'The door', max_tokens: 4 } });
  }
  await p.call('POST', '/v1/generate', {
    key,
    body: { user: 'plain', prompt: 'She', max_tokens: 3, stream: true },
  });
  await p.call('POST', '/v1/feedback', {
    key,
    body: { user: 'tuned', text: 'liked "this"\nmuch', rating: 1 },
  });
  for (let i = 0; i < 4; i++)
    await p.call('POST', '/v1/score', { key, body: { user: 'busy', texts: ['x'] } });
  await p.call('POST', '/v1/generate', { key, body: { user: 'x', prompt: 42 } });
  await p.activeAdapter(app.app_id, 'broken', 'v1');
  await p.store.delete(`adapters/${app.app_id}/broken/v1/adapter_model.safetensors`);
  await p.call('POST', '/v1/generate', { key, body: { user: 'broken', prompt: 'x', max_tokens: 1 } });
  await p.call('GET', `/admin/apps/${app.app_id}/users`, { key: ADMIN });
  scrape = (await p.call('GET', '/metrics')).text;
}, 60_000);
afterAll(() => p.close());

describe('GET /metrics', () => {
  it('is accepted by promtool check metrics', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    expect(r.error, 'promtool is installed by scripts/setup.sh test').toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('counts what the traffic did', () => {
    expect(scrape).toMatch(/^tailor_generations_total [4-9]/m);
    expect(scrape).toMatch(/^tailor_rate_limited_total\{scope="user"\} 1$/m);
    expect(scrape).toMatch(/^tailor_adapter_fallbacks_total\{reason="StorageError"\} 1$/m);
    expect(scrape).toMatch(/^# TYPE tailor_adapter_load_seconds histogram$/m);
    expect(scrape).toMatch(/^tailor_adapter_load_seconds_count [1-9]/m);
    expect(scrape).toMatch(
      /^tailor_http_requests_total\{method="POST",route="\/v1\/generate",status="422"\} 1$/m,
    );
    expect(scrape.match(/^# TYPE tailor_adapter_load_seconds /gm)).toHaveLength(1);
  });
});
