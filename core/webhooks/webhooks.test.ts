import { describe, expect, it } from 'vitest';
import { backoffMs } from './deliverer.js';
import { signWebhook, verifyWebhookSignature } from './signature.js';
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

describe('webhook signatures', () => {
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
