// The deliverer's connection on Node against a real listener on 127.0.0.1: a name that resolves there (made up
// by the test, or this machine's own name from /etc/hosts) is refused before anything is sent, and so is a name
// with one public and one private address; with private URLs allowed it is sent, to the address that was
// checked, with the name kept in the request. A redirect comes back as the answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressRefusedError } from '../webhooks/address.js';
import { nodeWebhookFetch, type ResolveHost, resolveHost } from './webhook-fetch.js';

/** Names of the test's own, and the system's resolver for the rest. */
const names: Record<string, { address: string; family: number }[]> = {
  'evil.example': [{ address: '127.0.0.1', family: 4 }],
  'mixed.example': [
    { address: '93.184.215.14', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ],
  'mapped.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
};
const resolve: ResolveHost = async (host) => names[host] ?? resolveHost(host);

const post = () =>
  ({ method: 'POST', body: '{}', redirect: 'manual', signal: AbortSignal.timeout(5000) }) as const;

/** Why the fetch failed, if it did: the refusal's message, or another error's. */
async function failure(p: Promise<Response>): Promise<string | null> {
  try {
    const res = await p;
    await res.body?.cancel();
    return null;
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof AddressRefusedError ? `refused: ${cause.message}` : String(cause ?? e);
  }
}

describe('the webhook fetch on Node', () => {
  let server: Server;
  let port: number;
  const received: { host: string | undefined; path: string | undefined }[] = [];
  const strict = nodeWebhookFetch({ allowPrivate: false, resolve });
  const open = nodeWebhookFetch({ allowPrivate: true, resolve });

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push({ host: req.headers.host, path: req.url });
      if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      else res.writeHead(204).end();
      req.resume();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all([strict.close(), open.close()]);
    await new Promise((r) => server.close(r));
  });

  it('refuses a name that resolves to 127.0.0.1, sending nothing', async () => {
    expect(await failure(strict(`http://evil.example:${port}/hook`, post()))).toBe(
      'refused: evil.example resolves to 127.0.0.1 (loopback)',
    );
    expect(await failure(strict(`http://mapped.example:${port}/hook`, post()))).toBe(
      'refused: mapped.example resolves to ::ffff:127.0.0.1 (loopback (127.0.0.1 as IPv4-mapped IPv6))',
    );
    expect(received).toEqual([]);
  });

  it('refuses a name with one public and one private address', async () => {
    expect(await failure(strict(`http://mixed.example:${port}/hook`, post()))).toBe(
      'refused: mixed.example resolves to 127.0.0.1 (loopback), one of 93.184.215.14, 127.0.0.1',
    );
    expect(received).toEqual([]);
  });

  it("refuses this machine's own name, which the system resolves to a private address", async () => {
    const own = hostname();
    const addresses = await resolveHost(own).catch(() => []);
    // Here /etc/hosts maps it to 127.0.0.1; elsewhere it may be the container's private address.
    expect(addresses.length, `${own} resolves`).toBeGreaterThan(0);
    const why = await failure(strict(`http://${own}:${port}/hook`, post()));
    expect(why).toMatch(new RegExp(`^refused: ${own.replace(/\./g, '\\.')} resolves to \\S+ \\(`));
    expect(received).toEqual([]);
  });

  it('sends to the address it checked, the name kept, when private URLs are allowed', async () => {
    const res = await open(`http://evil.example:${port}/hook`, post());
    expect(res.status).toBe(204);
    expect(received).toEqual([{ host: `evil.example:${port}`, path: '/hook' }]);
  });

  it('answers a redirect with the redirect, following nothing', async () => {
    received.length = 0;
    const res = await open(`http://evil.example:${port}/redirect`, post());
    expect(res.status).toBe(302);
    expect(received.map((r) => r.path)).toEqual(['/redirect']);
  });
});
