import { describe, expect, it } from 'vitest';
import {
  adapterChoice,
  appSettingsPatch,
  feedbackRequest,
  generateRequest,
  generateResponse,
  listJobsQuery,
  promoteRequest,
  rollbackRequest,
  scoreRequest,
  userId,
} from './contracts.js';

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown) =>
  schema.safeParse(v).success;

describe('HTTP API v1 contracts', () => {
  it('fill generate defaults, leaving the adapter and the user to the app and the caller', () => {
    expect(generateRequest.parse({ user: 'alice', prompt: 'Once' })).toEqual({
      user: 'alice',
      prompt: 'Once',
      max_tokens: 64,
      temperature: 0.8,
      top_p: 0.95,
      top_k: 50,
      styles: [],
      stream: false,
    });
    expect(ok(generateRequest, { prompt: 'Once' })).toBe(true); // a user token names the user
  });

  it('enforce generate ranges', () => {
    const base = { user: 'u', prompt: 'p' };
    for (const [field, good, bad] of [
      ['max_tokens', [1, 512], [0, 513, 1.5]],
      ['temperature', [0, 2], [-0.1, 2.1]],
      ['top_p', [0.01, 1], [0, 1.01]],
      ['top_k', [0, 4096], [-1, 4097, 2.5]],
      ['seed', [0, -7, 2 ** 40], [0.5]],
      ['stop', [['\n'], ['a', 'b', 'c', 'd']], [['a', 'b', 'c', 'd', 'e'], ['']]],
      [
        'styles',
        [[{ id: 'mystery', weight: -2 }]],
        [[{ id: 'm', weight: 2.5 }], Array(5).fill({ id: 'm', weight: 1 })],
      ],
    ] as const) {
      for (const v of good)
        expect(ok(generateRequest, { ...base, [field]: v }), `${field}=${JSON.stringify(v)}`).toBe(true);
      for (const v of bad)
        expect(ok(generateRequest, { ...base, [field]: v }), `${field}=${JSON.stringify(v)}`).toBe(false);
    }
    expect(ok(generateRequest, { ...base, maxTokens: 10 })).toBe(false); // unknown field
  });

  it('accept user ids of 1-128 safe characters only', () => {
    for (const u of ['a', 'user_1.x:y@z-w', 'x'.repeat(128)]) expect(ok(userId, u)).toBe(true);
    for (const u of ['', 'x'.repeat(129), 'a b', 'a/b', 'é']) expect(ok(userId, u)).toBe(false);
  });

  it('take adapter as auto, none or a version', () => {
    for (const a of ['auto', 'none', { version: 'v1' }]) expect(ok(adapterChoice, a)).toBe(true);
    for (const a of ['latest', { version: '' }, { version: 'v1', x: 1 }])
      expect(ok(adapterChoice, a)).toBe(false);
  });

  it('score 1 to 16 texts', () => {
    expect(scoreRequest.parse({ user: 'u', texts: ['a'] }).adapter).toBeUndefined();
    expect(ok(scoreRequest, { user: 'u', texts: [] })).toBe(false);
    expect(ok(scoreRequest, { user: 'u', texts: Array(17).fill('a') })).toBe(false);
  });

  it('need a generation or a text in feedback, a rating of 1 or -1, a short idempotency key', () => {
    expect(ok(feedbackRequest, { user: 'u', generation_id: 'gen_1', rating: 1 })).toBe(true);
    expect(ok(feedbackRequest, { user: 'u', text: 'mine', rating: -1, idempotency_key: 'k' })).toBe(true);
    expect(ok(feedbackRequest, { user: 'u', rating: 1 })).toBe(false);
    expect(ok(feedbackRequest, { user: 'u', text: 't', rating: 0 })).toBe(false);
    expect(ok(feedbackRequest, { user: 'u', text: 't', rating: 1, idempotency_key: '' })).toBe(false);
    expect(ok(feedbackRequest, { user: 'u', text: 't', rating: 1, idempotency_key: 'k'.repeat(129) })).toBe(
      false,
    );
  });

  it('name exactly one adapter owner in promote and rollback', () => {
    expect(ok(promoteRequest, { app: 'a', user: 'u', version: 'v1' })).toBe(true);
    expect(ok(promoteRequest, { app: 'a', style: 'mystery', version: 'v1' })).toBe(true);
    expect(ok(promoteRequest, { app: 'a', user: 'u', style: 's', version: 'v1' })).toBe(false);
    expect(ok(rollbackRequest, { app: 'a' })).toBe(false);
  });

  it('coerce page limits from query strings', () => {
    expect(listJobsQuery.parse({ limit: '20', status: 'running' })).toEqual({ limit: 20, status: 'running' });
    expect(listJobsQuery.parse({}).limit).toBe(50);
    expect(ok(listJobsQuery, { limit: '0' })).toBe(false);
    expect(ok(listJobsQuery, { limit: '201' })).toBe(false);
  });

  it('check responses, adapter null included', () => {
    const res = {
      id: 'gen_1',
      text: 'x',
      finish_reason: 'length',
      model: 'brown-4m',
      adapter: null,
      usage: { prompt_tokens: 1, completion_tokens: 2 },
      timings_ms: { total: 3 },
      seed: 7,
    };
    expect(ok(generateResponse, res)).toBe(true);
    expect(ok(generateResponse, { ...res, finish_reason: 'done' })).toBe(false);
  });

  it('take app settings changes as merge patches: values, nulls to reset, nothing unknown', () => {
    expect(ok(appSettingsPatch, { training: { min_feedback: 4 }, cors: null })).toBe(true);
    expect(ok(appSettingsPatch, { training: { min_feedback: null } })).toBe(true);
    expect(ok(appSettingsPatch, { training: { min_feedback: 0 } })).toBe(false);
    expect(ok(appSettingsPatch, { training: { mystery: 1 } })).toBe(false);
    expect(ok(appSettingsPatch, { cors: { allowed_origins: ['https://app.example:8443'] } })).toBe(true);
    for (const bad of ['https://x/path', '*', 'javascript:alert(1)', 'http://a b'])
      expect(ok(appSettingsPatch, { cors: { allowed_origins: [bad] } }), bad).toBe(false);
    expect(ok(appSettingsPatch, { defaults: { adapter: 'latest' } })).toBe(false);
    expect(ok(appSettingsPatch, { experiment: { holdout_percent: 50 } })).toBe(true);
    expect(ok(appSettingsPatch, { experiment: { holdout_percent: null } })).toBe(true);
    for (const bad of [51, -1, 2.5, '10'])
      expect(ok(appSettingsPatch, { experiment: { holdout_percent: bad } }), String(bad)).toBe(false);
  });
});
