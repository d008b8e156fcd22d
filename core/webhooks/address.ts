// Which IP addresses a webhook may be sent to: public unicast ones only, unless the operator allows private
// networks. Both the URL check at registration (a literal address in the URL) and the deliverer's connection
// (every address a name resolves to, core/node/webhook-fetch.ts) ask `addressProblem`, so a name and the
// address it stands for get the same answer.
//
// IPv4 follows IANA's special-purpose registry. IPv6 is refused outside global unicast (2000::/3) and inside
// its special blocks; the forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16) are judged by the IPv4 address they carry, because that is where the packets end up; the
// deprecated or local-only ones (IPv4-compatible ::a.b.c.d, translated ::ffff:0:a.b.c.d, local NAT64
// 64:ff9b:1::/48) are refused whatever they carry. Web APIs only: the URL check runs on Workers too.

/** Thrown (as a connection's cause) when a name resolves to an address `addressProblem` refuses. */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
}

type V4Block = [first: number, bits: number, why: string];
type V6Block = [first: bigint, bits: number, judge: string | ((a: bigint) => string | null)];

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** First match wins. Anything in none of them is public. */
const V4_BLOCKS: V4Block[] = [
  [v4(0, 0, 0, 0), 8, 'unspecified ("this network")'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'CGNAT'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved (IETF protocol assignments)'],
  [v4(192, 0, 2, 0), 24, 'documentation'],
  [v4(192, 88, 99, 0), 24, 'reserved (6to4 relay anycast)'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'reserved (benchmarking)'],
  [v4(198, 51, 100, 0), 24, 'documentation'],
  [v4(203, 0, 113, 0), 24, 'documentation'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(255, 255, 255, 255), 32, 'broadcast'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
];

function v4Problem(a: number): string | null {
  for (const [first, bits, why] of V4_BLOCKS) {
    if (a >>> (32 - bits) === first >>> (32 - bits)) return why;
  }
  return null;
}

const dotted = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');

/** The IPv4 address held in bits [from, from + 32) of a 128-bit address. */
const carried = (a: bigint, from: number) => Number((a >> BigInt(96 - from)) & 0xffffffffn);

/** Judged by the IPv4 address it carries at `from`: public when that one is. */
const carrying =
  (form: string, from: number) =>
  (a: bigint): string | null => {
    const inner = carried(a, from);
    const why = v4Problem(inner);
    return why && `${why} (${dotted(inner)} as ${form})`;
  };

/** Refused whatever it carries; named by the IPv4 address inside when that one is not public either. */
const carryingRefused = (form: string) => (a: bigint) =>
  carrying(form, 96)(a) ?? `reserved (${form}, not routed)`;

const v6 = (text: string) => parseV6(text) as bigint;

const V6_BLOCKS: V6Block[] = [
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('::ffff:0:0'), 96, carrying('IPv4-mapped IPv6', 96)],
  [v6('::ffff:0:0:0'), 96, carryingRefused('IPv4-translated IPv6')],
  [v6('::'), 96, carryingRefused('IPv4-compatible IPv6')],
  [v6('64:ff9b::'), 96, carrying('NAT64', 96)],
  [v6('64:ff9b:1::'), 48, 'private (local-use NAT64)'],
  [v6('100::'), 64, 'reserved (discard-only)'],
  [v6('2001::'), 32, 'reserved (Teredo)'],
  [v6('2001::'), 23, 'reserved (IETF protocol assignments)'],
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('2002::'), 16, carrying('6to4', 16)],
  [v6('3fff::'), 20, 'documentation'],
  [v6('5f00::'), 16, 'reserved (SRv6)'],
  [v6('2000::'), 3, () => null],
  [v6('fc00::'), 7, 'private (unique local)'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'private (site-local, deprecated)'],
  [v6('ff00::'), 8, 'multicast'],
  [0n, 0, 'reserved (outside global unicast)'],
];

function v6Problem(a: bigint): string | null {
  for (const [first, bits, judge] of V6_BLOCKS) {
    const shift = BigInt(128 - bits);
    if (a >> shift === first >> shift) return typeof judge === 'string' ? judge : judge(a);
  }
  return null;
}

/**
 * Why `ip` (an IPv4 or IPv6 address as text, in any of its spellings; an IPv6 zone is ignored) is not a public
 * unicast address — `loopback`, `private`, `documentation`, … — or null when it is one. Text that is no IP
 * address gets `not an IP address`.
 */
export function addressProblem(ip: string): string | null {
  const a4 = parseV4(ip);
  if (a4 !== null) return v4Problem(a4);
  const a6 = parseV6(ip.replace(/^\[(.*)\]$/, '$1'));
  if (a6 !== null) return v6Problem(a6);
  return 'not an IP address';
}

/** Dotted-quad IPv4 (four decimal parts, as resolvers and the URL parser give them) as a 32-bit number. */
function parseV4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return v4(...(parts as [number, number, number, number]));
}

/** IPv6 text (`::` compression, an IPv4 tail, a `%zone`) as a 128-bit number. */
function parseV6(text: string): bigint | null {
  const addr = text.replace(/%.*$/, '').toLowerCase();
  if (!/^[0-9a-f:.]+$/.test(addr) || !addr.includes(':')) return null;
  let groups: string[] = [];
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const head = split(halves[0] as string);
  const tail = halves.length === 2 ? split(halves[1] as string) : [];
  // An IPv4 tail stands for the last two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  if (last?.includes('.')) {
    const inner = parseV4(last);
    if (inner === null) return null;
    const list = halves.length === 2 ? tail : head;
    list.splice(-1, 1, (inner >>> 16).toString(16), (inner & 0xffff).toString(16));
  }
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
