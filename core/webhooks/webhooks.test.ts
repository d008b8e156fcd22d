import { describe, expect, it } from 'vitest';
import { backoffMs } from './deliverer.js';
import { signWebhook, verifyWebhookSignature } from './signature.js';
import { isPrivateHost, webhookUrlProblem } from './url.js';

describe('webhook URLs', () => {
  it('accepts public http(s) URLs and refuses the rest', () => {
    const strict = { allowPrivate: false };
    expect(webhookUrlProblem('https://hooks.example.com/x?y=1', strict)).toBeNull();
    expect(webhookUrlProblem('http://8.8.8.8:8080/', strict)).toBeNull();
    expect(webhookUrlProblem('http://[2001:db8::1]/', strict)).toBeNull();
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
    ]) {
      const url = `http://${host}/hook`;
      expect(isPrivateHost(new URL(url).hostname), host).toBe(true);
      expect(webhookUrlProblem(url, strict), host).toMatch(/private/);
      expect(webhookUrlProblem(url, { allowPrivate: true }), host).toBeNull();
    }
    expect(isPrivateHost('172.32.0.1')).toBe(false);
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
