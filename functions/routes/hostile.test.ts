// Malformed and hostile requests: each is answered 4xx with a clear error message and writes nothing.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let key: string;
let secret: string;
let appId: string;
let otherKey: string;
let genId: string;

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
/** A JWT over any header and payload; by default naming the victim app (`kid`), as the server requires. */
function jwt(payload: object, s: string, header: object = { alg: 'HS256', typ: 'JWT', kid: appId }): string {
  const h = b64(header);
  const body = b64(payload);
  return `${h}.${body}.${createHmac('sha256', s).update(`${h}.${body}`).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  p = await startPlatform({ MAX_BODY_BYTES: String(64 * 1024), MAX_PROMPT_TOKENS: '32' });
  const a = await p.newApp('victim');
  key = a.api_key;
  secret = a.signing_secret;
  appId = a.app_id;
  otherKey = (await p.newApp('attacker')).api_key;
  const g = await p.call('POST', '/v1/generate', {
    key,
    body: { user: 'alice', prompt: 'Hello', max_tokens: 2 },
  });
  genId = g.json.id;
  await p.call('POST', '/v1/feedback', {
    key,
    body: { user: 'alice', text: 'first', rating: 1, idempotency_key: 'idem-1' },
  });
}, 60_000);
afterAll(() => p.close());

type Case = [name: string, send: () => ReturnType<TestPlatform['call']>, statuses: number[]];
/** `k` null sends no Authorization header. */
const post = (path: string, body: unknown, k: string | null = key) =>
  p.call('POST', path, { ...(k !== null ? { key: k } : {}), body });

const cases: Case[] = [
  ['no Authorization header', () => post('/v1/generate', { user: 'u', prompt: 'x' }, null), [401]],
  [
    'not a Bearer scheme',
    () =>
      p.call('POST', '/v1/generate', {
        headers: { authorization: `Basic ${key}` },
        body: { user: 'u', prompt: 'x' },
      }),
    [401],
  ],
  ['unknown API key', () => post('/v1/generate', { user: 'u', prompt: 'x' }, `tlk_${'a'.repeat(55)}`), [401]],
  ['garbage API key', () => post('/v1/generate', { user: 'u', prompt: 'x' }, 'nope'), [401]],
  ['admin token on an app route', () => post('/v1/generate', { user: 'u', prompt: 'x' }, ADMIN), [401]],
  ['app key on an admin route', () => post('/admin/apps', { name: 'x' }), [401, 403]],
  ['bad JSON', () => p.call('POST', '/v1/generate', { key, raw: '{"user": "u", "prompt": ' }), [400]],
  ['JSON that is not an object', () => p.call('POST', '/v1/feedback', { key, raw: '[1,2,3]' }), [422]],
  [
    'wrong content type',
    () => p.call('POST', '/v1/generate', { key, raw: 'user=u', headers: { 'content-type': 'text/plain' } }),
    [415],
  ],
  ['missing prompt', () => post('/v1/generate', { user: 'u' }), [422]],
  ['prompt of the wrong type', () => post('/v1/generate', { user: 'u', prompt: 42 }), [422]],
  ['max_tokens too big', () => post('/v1/generate', { user: 'u', prompt: 'x', max_tokens: 100000 }), [422]],
  ['max_tokens zero', () => post('/v1/generate', { user: 'u', prompt: 'x', max_tokens: 0 }), [422]],
  ['temperature negative', () => post('/v1/generate', { user: 'u', prompt: 'x', temperature: -1 }), [422]],
  ['top_p out of range', () => post('/v1/generate', { user: 'u', prompt: 'x', top_p: 1.5 }), [422]],
  ['seed not an integer', () => post('/v1/generate', { user: 'u', prompt: 'x', seed: 1.5 }), [422]],
  [
    'too many stop strings',
    () => post('/v1/generate', { user: 'u', prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }),
    [422],
  ],
  ['unknown field', () => post('/v1/generate', { user: 'u', prompt: 'x', maxTokens: 5 }), [422]],
  [
    'prompt over the token limit',
    () => post('/v1/generate', { user: 'u', prompt: 'word '.repeat(100) }),
    [422],
  ],
  ['path traversal as user id', () => post('/v1/generate', { user: '../../etc/passwd', prompt: 'x' }), [422]],
  ['empty user id', () => post('/v1/generate', { user: '', prompt: 'x' }), [422]],
  ['user id too long', () => post('/v1/generate', { user: 'u'.repeat(129), prompt: 'x' }), [422]],
  [
    'unknown adapter version',
    () => post('/v1/generate', { user: 'alice', prompt: 'x', adapter: { version: 'v404' } }),
    [404],
  ],
  [
    'unknown style',
    () => post('/v1/generate', { user: 'alice', prompt: 'x', styles: [{ id: 'noir', weight: 1 }] }),
    [404],
  ],
  [
    'style weight out of range',
    () => post('/v1/generate', { user: 'u', prompt: 'x', styles: [{ id: 'noir', weight: 9 }] }),
    [422],
  ],
  ['rating of the wrong type', () => post('/v1/feedback', { user: 'u', text: 't', rating: 'great' }), [422]],
  ['rating out of range', () => post('/v1/feedback', { user: 'u', text: 't', rating: 7 }), [422]],
  ['feedback with neither text nor generation', () => post('/v1/feedback', { user: 'u', rating: 1 }), [422]],
  [
    'feedback on a made-up generation id',
    () => post('/v1/feedback', { user: 'alice', generation_id: 'gen_fake.AAAAAAAAAAAAAAAA', rating: 1 }),
    [404],
  ],
  [
    "feedback on another user's generation",
    () => post('/v1/feedback', { user: 'mallory', generation_id: genId, rating: 1 }),
    [404],
  ],
  [
    "another app's key on this app's generation",
    () => post('/v1/feedback', { user: 'alice', generation_id: genId, rating: 1 }, otherKey),
    [404],
  ],
  ['oversize body', () => post('/v1/feedback', { user: 'u', text: 'x'.repeat(100_000), rating: 1 }), [413]],
  [
    'idempotency key too long',
    () => post('/v1/feedback', { user: 'u', text: 't', rating: 1, idempotency_key: 'k'.repeat(200) }),
    [422],
  ],
  ['too many texts to score', () => post('/v1/score', { user: 'u', texts: Array(17).fill('a') }), [422]],
  ['no texts to score', () => post('/v1/score', { user: 'u', texts: [] }), [422]],
  [
    'forged user token',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'alice', exp: now() + 300 }, 'wrong-secret')),
    [401],
  ],
  [
    'a forged user token naming no app (neither kid nor iss)',
    () =>
      post(
        '/v1/generate',
        { prompt: 'x' },
        jwt({ sub: 'alice', exp: now() + 60 }, 'wrong', { alg: 'HS256' }),
      ),
    [401],
  ],
  [
    'alg none',
    () =>
      post(
        '/v1/generate',
        { prompt: 'x' },
        `${b64({ alg: 'none' })}.${b64({ sub: 'alice', exp: now() + 300 })}.`,
      ),
    [401],
  ],
  [
    'expired user token',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'alice', exp: now() - 10 }, secret)),
    [401],
  ],
  [
    'user token without exp',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'alice' }, secret)),
    [401],
  ],
  [
    'user token with a bad sub',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'a/b', exp: now() + 60 }, secret)),
    [401],
  ],
  [
    'user token acting for another user',
    () => post('/v1/generate', { user: 'bob', prompt: 'x' }, jwt({ sub: 'alice', exp: now() + 60 }, secret)),
    [403],
  ],
  [
    "user token reading another user's adapter",
    () => p.call('GET', '/v1/users/bob/adapter', { key: jwt({ sub: 'alice', exp: now() + 60 }, secret) }),
    [403],
  ],
  [
    'user token erasing another user',
    () => p.call('DELETE', '/v1/users/bob', { key: jwt({ sub: 'alice', exp: now() + 60 }, secret) }),
    [403],
  ],
  ['bad user id in a path', () => p.call('DELETE', '/v1/users/a%20b', { key }), [422]],
  [
    'expired download link',
    () => p.call('GET', '/v1/files/adapters/x/y/v1/adapter_model.safetensors?expires=1&sig=AAAA'),
    [403],
  ],
  ['unknown route', () => p.call('GET', '/v1/nothing-here', { key }), [404]],
  ['admin: app without a name', () => post('/admin/apps', {}, ADMIN), [422]],
  [
    'admin: promote a missing version',
    () => post('/admin/adapters/promote', { app: 'app_x', user: 'u', version: 'v1' }, ADMIN),
    [404],
  ],
  [
    'admin: promote naming user and style',
    () => post('/admin/adapters/promote', { app: 'a', user: 'u', style: 's', version: 'v1' }, ADMIN),
    [422],
  ],
  ['admin: bad list limit', () => p.call('GET', '/admin/jobs?limit=0', { key: ADMIN }), [422]],
  [
    'the same idempotency key with a different body',
    () => post('/v1/feedback', { user: 'alice', text: 'second', rating: 1, idempotency_key: 'idem-1' }),
    [409],
  ],
  // No storage key or URL path can hold `.` or `..`: refused at the door, wherever an id comes in.
  ['user id .', () => post('/v1/generate', { user: '.', prompt: 'x' }), [422]],
  ['user id ..', () => post('/v1/feedback', { user: '..', text: 'x', rating: 1 }), [422]],
  [
    'user token with sub ..',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: '..', exp: now() + 60 }, secret)),
    [401],
  ],
  [
    'style id ..',
    () => post('/v1/generate', { user: 'u', prompt: 'x', styles: [{ id: '..', weight: 1 }] }),
    [422],
  ],
  // NUL characters: PostgreSQL cannot store them; refused before anything runs or is written.
  ...(
    [
      ['generate prompt', '/v1/generate', { user: 'nul-u', prompt: 'a\u0000b' }],
      ['generate stop', '/v1/generate', { user: 'nul-u', prompt: 'x', stop: ['\u0000'] }],
      [
        'generate adapter version',
        '/v1/generate',
        { user: 'nul-u', prompt: 'x', adapter: { version: 'v\u0000' } },
      ],
      [
        'generate style id',
        '/v1/generate',
        { user: 'nul-u', prompt: 'x', styles: [{ id: 's\u0000', weight: 1 }] },
      ],
      ['feedback text', '/v1/feedback', { user: 'nul-u', text: 'a\u0000', rating: 1 }],
      ['feedback prompt', '/v1/feedback', { user: 'nul-u', text: 'a', prompt: '\u0000', rating: 1 }],
      [
        'feedback edited_text',
        '/v1/feedback',
        { user: 'nul-u', text: 'a', rating: -1, edited_text: 'b\u0000' },
      ],
      [
        'feedback idempotency_key',
        '/v1/feedback',
        { user: 'nul-u', text: 'a', rating: 1, idempotency_key: 'k\u0000' },
      ],
      ['score text', '/v1/score', { user: 'nul-u', texts: ['\u0000'] }],
      ['a key of the body', '/v1/feedback', { user: 'nul-u', text: 'a', rating: 1, 'x\u0000': 1 }],
    ] as const
  ).map(
    ([what, path, body]): Case => [
      `a NUL character in the ${what}`,
      () => p.call('POST', path, { key, raw: JSON.stringify(body) }),
      [422],
    ],
  ),
  [
    'a NUL character in an app name',
    () => p.call('POST', '/admin/apps', { key: ADMIN, raw: '{"name":"a\\u0000"}' }),
    [422],
  ],
  ['a NUL character in a path id', () => p.call('GET', '/admin/apps/app%00x', { key: ADMIN }), [422]],
  ['a NUL character in a query', () => p.call('GET', '/admin/jobs?app=%00', { key: ADMIN }), [422]],
  ['a NUL character in a user id of a path', () => p.call('GET', '/v1/users/a%00b/adapter', { key }), [422]],
  ['a malformed percent-encoding, unauthenticated', () => p.call('GET', '/v1/files/%ZZ'), [422]],
  [
    'a malformed percent-encoding in a query',
    () => p.call('GET', '/admin/jobs?app=%E0%A4%A', { key: ADMIN }),
    [422],
  ],
  [
    'a content type that only starts like JSON',
    () =>
      p.call('POST', '/v1/generate', {
        key,
        raw: '{"user":"u","prompt":"x"}',
        headers: { 'content-type': 'application/jsonx' },
      }),
    [415],
  ],
  ['a model name over the limit', () => p.call('GET', `/v1/models/${'m'.repeat(200)}/files`, { key }), [422]],
  [
    'a model this platform does not serve',
    () => p.call('GET', '/v1/models/..%2F..%2Fetc/files', { key }),
    [404],
  ],
  ['the model files without a credential', () => p.call('GET', '/v1/models/brown-4m/files'), [401]],
  [
    'a signed link with a hash that is not hex',
    () => p.call('GET', '/v1/files/models/brown-4m/config.json?expires=9999999999&sha256=zz&sig=AAAA'),
    [403, 422],
  ],
  [
    'a signed link with an over-long hash',
    () =>
      p.call(
        'GET',
        `/v1/files/models/brown-4m/config.json?expires=9999999999&sha256=${'a'.repeat(65)}&sig=AAAA`,
      ),
    [403, 422],
  ],
  [
    'a page on an origin the app does not allow',
    () =>
      p.call('POST', '/v1/generate', {
        key,
        body: { user: 'from-page', prompt: 'x', max_tokens: 1 },
        headers: { origin: 'https://evil.example' },
      }),
    [403],
  ],
  [
    'a token whose nbf is not a number',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'u', exp: now() + 60, nbf: 'soon' }, secret)),
    [401],
  ],
  [
    'a token that lives for ever',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'u', exp: 1e308 }, secret)),
    [401],
  ],
  [
    'a token that lives longer than allowed',
    () => post('/v1/generate', { prompt: 'x' }, jwt({ sub: 'u', exp: now() + 400 * 86_400 }, secret)),
    [401],
  ],
];

describe('hostile and malformed requests', () => {
  it(`has at least 30 cases (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(30));

  for (const [name, send, statuses] of cases) {
    it(`refuses ${name}`, async () => {
      const before = await p.rowCounts();
      const res = await send();
      expect(statuses, `${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
      expect(res.json?.error?.code).toEqual(expect.any(String));
      expect(res.json?.error?.message?.length).toBeGreaterThan(5);
      expect(await p.rowCounts()).toEqual(before);
    });
  }
});
