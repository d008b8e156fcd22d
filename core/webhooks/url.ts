// Which webhook URLs are accepted: http or https, at most MAX_WEBHOOK_URL_CHARS, no credentials in them, and
// (unless the operator allows it) no host that names this machine or a private network by itself: `localhost`,
// or a literal loopback, private, link-local, CGNAT, unspecified or multicast address. Host names are not
// resolved (this runs on Workers too): a public name pointing at a private address is the operator's to
// prevent at the network (docs/api.md, "Webhooks").

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
  if (!opts.allowPrivate && isPrivateHost(url.hostname)) {
    return 'names this machine or a private network (the operator may allow it: WEBHOOK_ALLOW_PRIVATE_URLS)';
  }
  return null;
}

/** `localhost`, or a literal IP address that is not a public unicast one. */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h.startsWith('[')) return isPrivateV6(h.slice(1, -1));
  const v4 = parseV4(h);
  return v4 ? isPrivateV4(v4) : false;
}

function parseV4(h: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function isPrivateV4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return true;
  return (
    a === 0 || // this network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function isPrivateV6(h: string): boolean {
  // The URL parser has already normalised the address (lowercase, `::` compressed, IPv4 tails as hex).
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = Number.parseInt(mapped[1] as string, 16);
    const lo = Number.parseInt(mapped[2] as string, 16);
    return isPrivateV4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const first = Number.parseInt(h.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local
    (first & 0xffc0) === 0xfe80 || // link-local
    (first & 0xff00) === 0xff00 // multicast
  );
}
