// The address a request came from, for limits per client. A header only counts when the operator says a
// trusted proxy sets it (TRUSTED_PROXY_HEADER): anyone can send `x-forwarded-for`, so trusting it by default
// would let a client pick a fresh address per request and never be limited. Otherwise: on Node the socket's
// peer (what @hono/node-server puts in `c.env.incoming`), on Workers `cf-connecting-ip`, which Cloudflare
// itself sets and a client cannot.
import type { Context } from 'hono';
import { getRuntimeKey } from 'hono/adapter';

/** Where neither a socket nor a trusted header says (requests made in-process, tests): one shared bucket. */
export const UNKNOWN_ADDRESS = 'unknown';

type NodeBindings = { incoming?: { socket?: { remoteAddress?: string } } };

function socketAddress(c: Context): string | undefined {
  const env = c.env as (NodeBindings & { server?: NodeBindings }) | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
}

/** `trustedHeader`: the lower-case header name a proxy in front of the app sets, or undefined. */
export function clientAddress(c: Context, trustedHeader: string | undefined): string {
  if (trustedHeader) {
    const value = c.req.header(trustedHeader);
    // A proxy appends the address it saw to x-forwarded-for: the entries before it are the client's to write.
    const named = trustedHeader === 'x-forwarded-for' ? value?.split(',').at(-1)?.trim() : value?.trim();
    if (named) return named;
  }
  const socket = socketAddress(c);
  if (socket) return socket;
  if (getRuntimeKey() === 'workerd') return c.req.header('cf-connecting-ip')?.trim() || UNKNOWN_ADDRESS;
  return UNKNOWN_ADDRESS;
}
