import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffMs } from './deliverer.js';
import {
  newWebhookSecret,
  signStandardWebhook,
  signWebhook,
  verifyStandardWebhook,
  verifyWebhookSignature,
  webhookKey,
} from './signature.js';
import { literalHostProblem, webhookUrlProblem } from './url.js';

describe('webhook URLs', () => {
  it('accepts public http(s) URLs and refuses the rest', () => {
    const strict = { allowPrivate: false };
    expect(webhookUrlProblem('https://hooks.example.com/x?y=1', strict)).toBeNull();
    expect(webhookUrlProblem('http://8.8.8.8:8080/', strict)).toBeNull();
    expect(webhookUrlProblem('http://[2606:4700:4700::1111]/', strict)).toBeNull();
    expect(webhookUrlProblem('http://[::ffff:8.8.8.8]/', strict)).toBeNull();
    expect(webhookUrlProblem('http://evil.example:9999/', strict)).toBeNull(); // a name: checked on delivery
    for (const bad of [
      'ftp://a.example/',
      'javascript:alert(1)',
      'nope',
      'https://u:p@a.example/',
      `https://a.example/${'x'.repeat(2048)}`,
    ])
      expect(webhookUrlProblem(bad, { allowPrivate: true }), bad).not.toBeNull();
    for (const host of [
      'localhost',
      'a.localhost',
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '[::1]',
      '[::]',
      '[fd00::1]',
      '[fe80::1]',
      '[::ffff:127.0.0.1]',
      // IPv4 inside IPv6 (compatible, translated, NAT64, 6to4) and the blocks no webhook lives in.
      '[::127.0.0.1]',
      '[::ffff:0:127.0.0.1]',
      '[64:ff9b::7f00:1]',
      '[64:ff9b:1::a00:1]',
      '[2002:7f00:1::]',
      '[2002:a00:1::1]',
      '[fec0::1]',
      '[2001:db8::1]',
      '[2001::1]',
      '[3fff::1]',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.200',
      '192.0.0.8',
      '192.88.99.1',
      '255.255.255.255',
      '198.18.0.1',
      '2130706433', // 127.0.0.1 spelt as one number: the URL parser makes it a dotted quad
    ]) {
      const url = `http://${host}/hook`;
      expect(literalHostProblem(new URL(url).hostname), host).not.toBeNull();
      expect(webhookUrlProblem(url, strict), host).toMatch(/not a public address.*private networks/);
      expect(webhookUrlProblem(url, { allowPrivate: true }), host).toBeNull();
    }
    expect(literalHostProblem('172.32.0.1')).toBeNull();
    expect(webhookUrlProblem('http://[::127.0.0.1]:9999/', strict)).toMatch(
      /^\[::7f00:1\] is loopback \(127\.0\.0\.1 as IPv4-compatible IPv6\)/,
    );
  });
});

describe('Standard Webhooks signatures', () => {
  // The specification's test vector (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
  const spec = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    t: 1614265330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  /** Computed here with node:crypto, as a receiver without the library would. */
  const independent = (secret: string, id: string, t: number, body: string) =>
    `v1,${createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`${id}.${t}.${body}`)
      .digest('base64')}`;
  const headers = (sig: string, id = spec.id, t = spec.t) => ({
    'webhook-id': id,
    'webhook-timestamp': String(t),
    'webhook-signature': sig,
  });

  it('signs the specification’s test vector as it says, and verifies it within the tolerance only', async () => {
    expect(independent(spec.secret, spec.id, spec.t, spec.body)).toBe(spec.signature);
    expect(await signStandardWebhook([spec.secret], spec.id, spec.t, spec.body)).toBe(spec.signature);
    const ok = { nowS: spec.t + 10 };
    expect(await verifyStandardWebhook(spec.secret, headers(spec.signature), spec.body, ok)).toBe(true);
    expect(
      await verifyStandardWebhook(spec.secret, new Headers(headers(spec.signature)), spec.body, ok),
    ).toBe(true);
    const refused: [Record<string, string>, string, { nowS: number; toleranceS?: number }][] = [
      [headers(spec.signature), spec.body, { nowS: spec.t + 301 }],
      [headers(spec.signature), spec.body, { nowS: spec.t - 301 }],
      [headers(spec.signature), spec.body, { nowS: spec.t + 20, toleranceS: 10 }],
      [headers(spec.signature), `${spec.body} `, ok],
      [headers(spec.signature, 'msg_other'), spec.body, ok],
      [headers(spec.signature, spec.id, spec.t + 1), spec.body, { nowS: spec.t }],
      [headers(spec.signature.replace('v1,', 'v2,')), spec.body, ok],
      [headers(''), spec.body, ok],
      [{ 'webhook-id': spec.id, 'webhook-signature': spec.signature }, spec.body, ok],
    ];
    for (const [h, body, opts] of refused)
      expect(await verifyStandardWebhook(spec.secret, h, body, opts), JSON.stringify([h, body])).toBe(false);
    expect(await verifyStandardWebhook(newWebhookSecret(), headers(spec.signature), spec.body, ok)).toBe(
      false,
    );
  });

  it('makes secrets the libraries read: whsec_ and standard base64 of 32 random bytes', async () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
    const body = '{"id":"evt_1"}';
    expect(await signStandardWebhook([a], 'evt_1', 1_800_000_000, body)).toBe(
      independent(a, 'evt_1', 1_800_000_000, body),
    );
  });

  it('signs with every secret during an overlap, each signature verifying with its own secret', async () => {
    const [next, old] = [newWebhookSecret(), newWebhookSecret()];
    const t = 1_800_000_000;
    const both = await signStandardWebhook([next, old], 'evt_2', t, 'b');
    expect(both).toBe(`${independent(next, 'evt_2', t, 'b')} ${independent(old, 'evt_2', t, 'b')}`);
    for (const s of [next, old])
      expect(await verifyStandardWebhook(s, headers(both, 'evt_2', t), 'b', { nowS: t })).toBe(true);
    expect(await verifyStandardWebhook(newWebhookSecret(), headers(both, 'evt_2', t), 'b', { nowS: t })).toBe(
      false,
    );
  });

  it('keys a legacy (base64url) secret by the bytes it stands for, as its standard conversion does', async () => {
    const bytes = new Uint8Array(32).map((_, i) => 250 - i * 7); // base64url of these has - and _
    const legacy = `whsec_${Buffer.from(bytes).toString('base64url')}`;
    expect(legacy).toMatch(/[-_]/);
    const converted = `whsec_${Buffer.from(legacy.slice(6), 'base64url').toString('base64')}`;
    expect([...webhookKey(legacy)]).toEqual([...bytes]);
    expect([...webhookKey(converted)]).toEqual([...bytes]);
    const t = 1_800_000_000;
    const sig = await signStandardWebhook([legacy], 'evt_3', t, 'b');
    expect(sig).toBe(independent(converted, 'evt_3', t, 'b'));
    expect(await verifyStandardWebhook(converted, headers(sig, 'evt_3', t), 'b', { nowS: t })).toBe(true);
    expect(() => webhookKey('whsec_')).toThrow(/base64/);
    expect(() => webhookKey('whsec_not base64!')).toThrow(/base64/);
  });
});

describe('legacy signatures (Tailor-Signature)', () => {
  it('verifies its own signature within the tolerance only, and nothing altered', async () => {
    const body = '{"id":"evt_1"}';
    const t = 1_800_000_000;
    const header = await signWebhook('whsec_s', body, t);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhookSignature('whsec_s', body, header, { nowS: t + 10 })).toBe(true);
    expect(await verifyWebhookSignature('whsec_s', body, header, { nowS: t + 301 })).toBe(false);
    expect(await verifyWebhookSignature('whsec_x', body, header, { nowS: t })).toBe(false);
    expect(await verifyWebhookSignature('whsec_s', `${body} `, header, { nowS: t })).toBe(false);
    expect(await verifyWebhookSignature('whsec_s', body, header.replace('t=18', 't=17'), { nowS: t })).toBe(
      false,
    );
    expect(await verifyWebhookSignature('whsec_s', body, null)).toBe(false);
  });
});

describe('webhook backoff', () => {
  it('waits base × 4^(n−1), at most the cap', () => {
    const c = { retryBaseMs: 30_000, retryMaxMs: 6 * 3_600_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, c))).toEqual([
      30_000, 120_000, 480_000, 1_920_000, 7_680_000, 21_600_000, 21_600_000,
    ]);
  });
});
