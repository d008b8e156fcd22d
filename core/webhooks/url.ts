// Which webhook URLs are accepted: http or https, at most MAX_WEBHOOK_URL_CHARS, no credentials in them, and
// (unless the operator allows it) no host that names this machine or a private network by itself: `localhost`,
// or a literal address that is not public unicast (core/webhooks/address.ts). Host names are not resolved here
// (this runs on Workers too, at registration): the deliverer resolves them when it connects and refuses the
// same addresses (core/node/webhook-fetch.ts), so a public name pointing inside is caught there.

import { addressProblem } from './address.js';

export const MAX_WEBHOOK_URL_CHARS = 2048;

/** Why `raw` cannot be a webhook URL, or null when it can. */
export function webhookUrlProblem(raw: string, opts: { allowPrivate: boolean }): string | null {
  if (raw.length > MAX_WEBHOOK_URL_CHARS) return `at most ${MAX_WEBHOOK_URL_CHARS} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only http and https URLs';
  if (url.username || url.password) return 'no user name or password in the URL';
  if (!url.hostname) return 'no host';
  const problem = opts.allowPrivate ? null : literalHostProblem(url.hostname);
  if (problem) {
    return `${problem}: not a public address (the operator may allow private networks: WEBHOOK_ALLOW_PRIVATE_URLS)`;
  }
  return null;
}

/**
 * Why a URL's host (as `new URL` gives it: IPv6 in brackets, IPv4 as a dotted quad) names this machine or a
 * network that is not public by itself — `localhost`, or a literal address that is not public unicast — or
 * null: a public literal, or a name (not resolved here).
 */
export function literalHostProblem(hostname: string): string | null {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return `${h} names this machine`;
  if (h.startsWith('[')) return why(h, addressProblem(h.slice(1, -1)));
  // A host of digits and dots is always an IPv4 address once the URL parser has normalised it.
  if (/^[\d.]+$/.test(h)) return why(h, addressProblem(h));
  return null;
}

const why = (host: string, problem: string | null) => problem && `${host} is ${problem}`;
