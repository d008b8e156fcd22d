// The webhook deliverer's connection on Node. Node's global fetch has no hook between resolving a name and
// connecting, so this is undici's fetch through an Agent whose `connect.lookup` resolves the host itself, with
// every address it has (dns.lookup, all: true), refuses them all when any one is not public unicast
// (core/webhooks/address.ts), and gives the socket exactly the addresses it checked: no second lookup that a
// name's owner could answer differently (DNS rebinding). The URL keeps the name, so TLS sends it (SNI) and checks
// the certificate against it. A literal address in the URL is never looked up: the deliverer checks it first.

import { promises as dns, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { AddressRefusedError, addressProblem } from '../webhooks/address.js';
import type { WebhookFetch } from '../webhooks/deliverer.js';

/** Every address a host name has (tests answer for names of their own). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

export const resolveHost: ResolveHost = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** Why `hostname` may not be connected to, given its addresses; null when every one is public. */
export function resolvedProblem(hostname: string, addresses: readonly LookupAddress[]): string | null {
  if (addresses.length === 0) return `${hostname} has no address`;
  for (const { address } of addresses) {
    const why = addressProblem(address);
    if (why === null) continue;
    const among = addresses.length > 1 ? `, one of ${addresses.map((a) => a.address).join(', ')}` : '';
    return `${hostname} resolves to ${address} (${why})${among}`;
  }
  return null;
}

/** `net.connect`'s lookup: resolves with `resolve`, refuses unless every address is public (or allowed). */
function checkedLookup(resolve: ResolveHost, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const problem = allowPrivate ? null : resolvedProblem(hostname, all);
        if (problem) return callback(new AddressRefusedError(problem), '', 0);
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = family === 0 ? all : all.filter((a) => a.family === family);
        const first = usable[0];
        if (!first) {
          const e = Object.assign(new Error(`${hostname} has no IPv${family} address`), {
            code: 'ENOTFOUND',
          });
          return callback(e, '', 0);
        }
        // With happy eyeballs (autoSelectFamily, Node's default) the socket asks for every address.
        if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, usable);
        callback(null, first.address, first.family);
      },
      (e: NodeJS.ErrnoException) => callback(e, '', 0),
    );
  };
}

/**
 * The fetch a WebhookDeliverer sends with on Node. `allowPrivate` (WEBHOOK_ALLOW_PRIVATE_URLS) lets any address
 * through; `resolve` answers for names (default: the system's resolver). `close()` ends its idle connections.
 */
export function nodeWebhookFetch(opts: {
  allowPrivate: boolean;
  resolve?: ResolveHost;
}): WebhookFetch & { close(): Promise<void> } {
  const dispatcher = new Agent({
    connect: { lookup: checkedLookup(opts.resolve ?? resolveHost, opts.allowPrivate) },
  });
  const send = (url: string, init: RequestInit) =>
    undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    }) as unknown as Promise<Response>;
  return Object.assign(send, { close: () => dispatcher.close() });
}
