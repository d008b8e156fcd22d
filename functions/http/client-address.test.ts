import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientAddress, UNKNOWN_ADDRESS } from './client-address.js';

/** What the route would limit by, for a request from `socket` with `headers`. */
async function addressOf(trusted: string | undefined, headers: Record<string, string>, socket?: string) {
  const app = new Hono();
  app.get('/', (c) => c.text(clientAddress(c, trusted)));
  const env = socket ? { incoming: { socket: { remoteAddress: socket } } } : undefined;
  return (await app.request('http://localhost/', { headers }, env)).text();
}

const spoofed = { 'x-forwarded-for': '192.0.2.1, 198.51.100.7', 'cf-connecting-ip': '203.0.113.9' };

describe('clientAddress', () => {
  it('uses the socket and ignores every proxy header while none is trusted', async () => {
    expect(await addressOf(undefined, spoofed, '10.1.2.3')).toBe('10.1.2.3');
    expect(await addressOf(undefined, spoofed)).toBe(UNKNOWN_ADDRESS); // not Workers: cf-connecting-ip is anyone's
  });

  it("takes x-forwarded-for's right-most entry (the one the proxy appended) when it is trusted", async () => {
    expect(await addressOf('x-forwarded-for', spoofed, '10.0.0.1')).toBe('198.51.100.7');
    expect(await addressOf('x-forwarded-for', { 'x-forwarded-for': ' 192.0.2.5 ' }, '10.0.0.1')).toBe(
      '192.0.2.5',
    );
  });

  it('takes another trusted header whole, and falls back to the socket when it is missing', async () => {
    expect(await addressOf('cf-connecting-ip', spoofed, '10.0.0.1')).toBe('203.0.113.9');
    expect(await addressOf('x-real-ip', spoofed, '10.0.0.1')).toBe('10.0.0.1');
  });
});
