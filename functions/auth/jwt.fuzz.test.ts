// Property-based fuzzing (fast-check, fixed seeds) of user-token verification: random strings, valid tokens
// mutated character by character (never re-signed), and tokens re-signed with the right secret over hostile
// headers and claims (alg none/RS256/HS512, bad base64, huge, exp/nbf/iat missing or not numbers, sub of every
// type). verifyUserToken accepts the valid token as it is and only tokens whose every claim is right; it
// rejects everything else with a TokenError, never another exception, never slowly.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USER_ID_PATTERN } from '../../schema/contracts.js';
import { looksLikeJwt, signUserToken, TokenError, tokenAppHint, verifyUserToken } from './jwt.js';

const SEED = 20_260_520;
const RUNS = 200;
const SECRET = 'fuzz-signing-secret-0123456789';
const NOW = 1_800_000_000;
const SKEW = 30;
const MAX_LIFETIME = 86_400;
const SLOW_MS = 1_000;

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
function sign(header: unknown, payload: unknown, secret = SECRET): string {
  const h = b64(header);
  const p = b64(payload);
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

const verify = (token: string) => verifyUserToken(token, SECRET, NOW, SKEW, MAX_LIFETIME);

/** The claims, or the TokenError; any other exception fails. */
async function outcome(token: string): Promise<Record<string, unknown> | TokenError> {
  const t0 = performance.now();
  try {
    return await verify(token);
  } catch (e) {
    if (!(e instanceof TokenError)) throw new Error(`not a TokenError: ${String(e)}`, { cause: e });
    expect(e.message.length).toBeGreaterThan(5);
    return e;
  } finally {
    expect(performance.now() - t0).toBeLessThan(SLOW_MS);
  }
}

/** What an accepted token's claims must be. */
function expectValidClaims(c: Record<string, unknown>): void {
  expect(typeof c.sub === 'string' && USER_ID_PATTERN.test(c.sub), `sub ${JSON.stringify(c.sub)}`).toBe(true);
  expect(typeof c.exp === 'number' && Number.isFinite(c.exp), `exp ${JSON.stringify(c.exp)}`).toBe(true);
  const exp = c.exp as number;
  expect(exp + SKEW).toBeGreaterThan(NOW);
  expect(exp - NOW).toBeLessThanOrEqual(MAX_LIFETIME);
  for (const k of ['nbf', 'iat'] as const) {
    if (c[k] === undefined) continue;
    expect(typeof c[k] === 'number' && Number.isFinite(c[k]), `${k} ${JSON.stringify(c[k])}`).toBe(true);
  }
  if (typeof c.nbf === 'number') expect(c.nbf - SKEW).toBeLessThanOrEqual(NOW);
}

const fast = (salt: number, runs = RUNS) => ({ seed: SEED + salt, numRuns: runs });

let valid: string;

describe('verifyUserToken under fuzzing', () => {
  it('accepts the valid token as it is', async () => {
    valid = await signUserToken({ sub: 'reader-1', exp: NOW + 600, iat: NOW }, SECRET, 'app_fuzz');
    const c = await outcome(valid);
    expect(c).not.toBeInstanceOf(TokenError);
    expect((c as { sub: string }).sub).toBe('reader-1');
  });

  it(`rejects random strings (${RUNS} runs)`, async () => {
    const part = fc.string({ unit: fc.constantFrom(...'ABCxyz019-_+/=. '.split('')), maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.tuple(part, part, part).map((xs) => xs.join('.')),
          fc.array(part, { maxLength: 6 }).map((xs) => xs.join('.')),
        ),
        async (token) => {
          expect(await outcome(token)).toBeInstanceOf(TokenError);
        },
      ),
      fast(0),
    );
  });

  it(`rejects the valid token mutated character by character, unless it decodes the same (${RUNS} runs)`, async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.% \u0000é';
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), ch: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('swap' as const), a: fc.nat(2), b: fc.nat(2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        let t = valid;
        for (const e of edits) {
          if (e.kind === 'set') {
            const i = e.at % t.length;
            t = t.slice(0, i) + e.ch + t.slice(i + 1);
          } else if (e.kind === 'insert') {
            const i = e.at % (t.length + 1);
            t = t.slice(0, i) + e.ch + t.slice(i);
          } else if (e.kind === 'delete') {
            const i = e.at % t.length;
            t = t.slice(0, i) + t.slice(i + 1);
          } else if (e.kind === 'cut') t = t.slice(0, e.at % t.length);
          else {
            const parts = t.split('.');
            if (parts.length === 3) {
              [parts[e.a], parts[e.b]] = [parts[e.b] as string, parts[e.a] as string];
              t = parts.join('.');
            }
          }
        }
        const out = await outcome(t);
        if (out instanceof TokenError) return;
        // Accepted: only the same signing input with a signature that decodes to the same bytes (base64url
        // spells a few byte strings more than one way; the bytes are what is compared).
        const [h, p, s] = t.split('.');
        const [vh, vp, vs] = valid.split('.');
        expect(`${h}.${p}`, `accepted a changed token ${t}`).toBe(`${vh}.${vp}`);
        expect(Buffer.from(s ?? '', 'base64url').equals(Buffer.from(vs ?? '', 'base64url'))).toBe(true);
        expectValidClaims(out);
      }),
      fast(1),
    );
  });

  it(`accepts a re-signed token only when every claim is right (${RUNS} runs)`, async () => {
    const odd = fc.oneof(
      fc.constantFrom(null, true, false, '', 'NaN', 'Infinity', '1e999', [], {}, [NOW], { $gt: 0 }),
      fc.constantFrom(NOW, NOW + 60, NOW - 60, NOW + SKEW - 1, NOW - SKEW - 1, NOW + MAX_LIFETIME + 1),
      fc.constantFrom(1e308, -1e308, 0, -1, 1.5, 2 ** 53, NOW + 0.5),
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 12 }),
    );
    const sub = fc.oneof(
      fc.constantFrom(
        'reader-1',
        'a',
        '.',
        '..',
        'a/b',
        'a b',
        'x'.repeat(128),
        'x'.repeat(129),
        'a\u0000',
        'é',
      ),
      fc.string({ maxLength: 20 }),
      odd,
    );
    const header = fc.oneof(
      fc.constant({ alg: 'HS256', typ: 'JWT' }),
      fc.constant({ alg: 'HS256' }),
      fc.record(
        {
          alg: fc.constantFrom(
            'HS256',
            'none',
            'None',
            'RS256',
            'HS512',
            'HS384',
            'ES256',
            'hs256',
            '',
            null,
            256,
          ),
          typ: fc.constantFrom('JWT', 'jwt', 'at+jwt', '', null, 1),
          kid: fc.oneof(
            fc.string({ maxLength: 10 }),
            fc.constantFrom('a\u0000', 'x'.repeat(5_000), null, {}),
          ),
          crit: fc.constantFrom(['b64'], ['exp'], [], 'b64'),
          b64: fc.constantFrom(false, true),
          jku: fc.constant('https://evil.example/keys'),
        },
        { requiredKeys: ['alg'] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const claims = fc.record(
      { sub, exp: odd, nbf: odd, iat: odd, iss: fc.string({ maxLength: 8 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.oneof({ arbitrary: claims, weight: 6 }, fc.jsonValue({ maxDepth: 2 })),
        fc.boolean(),
        async (h, payload, rightSecret) => {
          const token = sign(h, payload, rightSecret ? SECRET : 'another-secret');
          const out = await outcome(token);
          if (out instanceof TokenError) return;
          expect(rightSecret, 'accepted a token signed with another secret').toBe(true);
          expect(h, 'accepted a header other than HS256').toMatchObject({ alg: 'HS256' });
          expectValidClaims(out);
        },
      ),
      fast(2, 400),
    );
  });

  it('rejects alg none, other algorithms, bad base64 and huge tokens', async () => {
    const claims = { sub: 'reader-1', exp: NOW + 60 };
    const [h, p, s] = sign({ alg: 'HS256' }, claims).split('.') as [string, string, string];
    const cases = [
      `${b64({ alg: 'none' })}.${b64(claims)}.`,
      `${b64({ alg: 'none' })}.${b64(claims)}.${s}`,
      sign({ alg: 'RS256' }, claims),
      sign({ alg: 'HS512' }, claims),
      `${h}=.${p}.${s}`,
      `${h}.${p}==.${s}`,
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`, // base64, not base64url (this s has a '-')
      `${h}.${p}.${s}.`,
      `${h}.${p}`,
      `.${p}.${s}`,
      `${h}..${s}`,
      ` ${h}.${p}.${s}`,
      sign({ alg: 'HS256' }, { ...claims, pad: 'x'.repeat(1_000_000) }).replace(/.$/, 'A'),
      sign({ alg: 'HS256', x: 'y'.repeat(1_000_000) }, claims, 'wrong'),
      sign({ alg: 'HS256' }, { sub: 'reader-1' }),
      sign({ alg: 'HS256' }, { sub: 'reader-1', exp: `${NOW + 60}` }),
      sign({ alg: 'HS256' }, { sub: 'reader-1', exp: NOW + 60, nbf: 'soon' }),
      sign({ alg: 'HS256' }, { sub: 'reader-1', exp: NOW + 60, iat: [] }),
      sign({ alg: 'HS256' }, { sub: 42, exp: NOW + 60 }),
      sign({ alg: 'HS256' }, { sub: ['reader-1'], exp: NOW + 60 }),
      sign({ alg: 'HS256' }, { sub: null, exp: NOW + 60 }),
      sign({ alg: 'HS256' }, [claims]),
      sign({ alg: 'HS256' }, 'reader-1'),
      sign(['HS256'], claims),
    ];
    expect(s).toMatch(/[-_]/);
    for (const t of cases) expect(await outcome(t), t.slice(0, 120)).toBeInstanceOf(TokenError);
  });

  it(`never throws while guessing the app of any token (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })).map(([h, p]) => sign(h, p)),
          fc
            .tuple(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }))
            .map(([kid, iss]) => sign({ alg: 'HS256', kid }, { iss })),
        ),
        (token) => {
          const hint = tokenAppHint(token);
          if (hint !== undefined) expect(hint).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
          expect(typeof looksLikeJwt(token)).toBe('boolean');
        },
      ),
      fast(3),
    );
  });
});
