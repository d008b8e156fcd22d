// The address classifier against an oracle written apart from it: node:net's BlockList holding the
// special-purpose ranges as CIDR text (fast-check, fixed seed), and the forms that carry an IPv4 address judged
// by the address they carry. Any spelling of an address (compressed, expanded, an IPv4 tail, a zone, brackets,
// the URL parser's normal form) gets the same answer.
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressProblem } from './address.js';

const SEED = 20_260_601;
const RUNS = 2000;

/** IANA's IPv4 special-purpose blocks (and the benchmarking, multicast, reserved and broadcast ones). */
const V4_SPECIAL = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
/** IPv6 blocks refused outright (those carrying an IPv4 address are checked apart). */
const V6_SPECIAL = [
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  '3fff::/20',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
];
const V6_CARRYING = ['::/96', '::ffff:0:0/96', '::ffff:0:0:0/96', '64:ff9b::/96', '2002::/16'];

function blockList(ranges: string[], type: 'ipv4' | 'ipv6'): BlockList {
  const b = new BlockList();
  for (const r of ranges) {
    const [net, bits] = r.split('/') as [string, string];
    b.addSubnet(net, Number(bits), type);
  }
  return b;
}
const v4Special = blockList(V4_SPECIAL, 'ipv4');
const v6Special = blockList(V6_SPECIAL, 'ipv6');
const v6Carrying = blockList(V6_CARRYING, 'ipv6');
const v6GlobalUnicast = blockList(['2000::/3'], 'ipv6');

const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
/** IPv4 addresses, half of them near the edges of the special blocks. */
const ipv4 = fc.oneof(
  octets.map((o) => o.join('.')),
  fc.tuple(fc.constantFrom(...V4_SPECIAL), fc.integer({ min: -2, max: 2 }), octets).map(([cidr, step, o]) => {
    const [net, bits] = cidr.split('/') as [string, string];
    const base = net.split('.').reduce((a, p) => a * 256 + Number(p), 0);
    const host = o.reduce((a, p) => a * 256 + p, 0) % 2 ** (32 - Number(bits));
    const n = (base + (step === 0 ? host : step < 0 ? step : 2 ** (32 - Number(bits)) - 1 + step)) >>> 0;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }),
);
const group = fc.nat(0xffff);
/** IPv6 addresses, most of them starting the way the special blocks and global unicast ones do. */
const ipv6Groups = fc.tuple(
  fc.oneof(
    fc.constantFrom(0, 0x64, 0x100, 0x2001, 0x2002, 0x2400, 0x2606, 0x2a00, 0x3fff, 0x5f00, 0xfc00, 0xfd12),
    fc.constantFrom(0xfe80, 0xfebf, 0xfec0, 0xff02),
    group,
  ),
  fc.oneof(fc.constantFrom(0, 1, 0xdb8, 0xff9b, 0x1ff, 0x200), group),
  fc.array(group, { minLength: 6, maxLength: 6 }),
);
const ipv6 = ipv6Groups.map(([a, b, rest]) => [a, b, ...rest].map((g) => g.toString(16)).join(':'));
const v4Number = (ip: string) => ip.split('.').reduce((a, p) => a * 256 + Number(p), 0) >>> 0;
const hexPair = (n: number) => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

describe('addressProblem', () => {
  it('refuses an IPv4 address exactly when it is in a special-purpose block', () => {
    fc.assert(
      fc.property(ipv4, (ip) => {
        const special = v4Special.check(ip, 'ipv4') || ip === '255.255.255.255';
        expect(addressProblem(ip) !== null, ip).toBe(special);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('refuses an IPv6 address outside global unicast or in a special block', () => {
    fc.assert(
      fc.property(ipv6, (ip) => {
        fc.pre(!v6Carrying.check(ip, 'ipv6'));
        const refused = v6Special.check(ip, 'ipv6') || !v6GlobalUnicast.check(ip, 'ipv6');
        expect(addressProblem(ip) !== null, ip).toBe(refused);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('judges mapped, NAT64 and 6to4 addresses by the IPv4 address they carry; refuses compatible and translated ones', () => {
    fc.assert(
      fc.property(ipv4, group, group, (ip, g1, g2) => {
        const inner = addressProblem(ip);
        const n = v4Number(ip);
        for (const carried of [`::ffff:${ip}`, `::ffff:${hexPair(n)}`, `64:ff9b::${hexPair(n)}`]) {
          expect(addressProblem(carried), carried).toBe(inner && `${inner} (${ip} as ${form(carried)})`);
        }
        const sixToFour = `2002:${hexPair(n)}:${g1.toString(16)}::${g2.toString(16)}`;
        expect(addressProblem(sixToFour) === null, sixToFour).toBe(inner === null);
        for (const dead of [`::${ip}`, `::ffff:0:${ip}`]) {
          expect(addressProblem(dead), dead).not.toBeNull();
          // (::0.0.0.0 and ::0.0.0.1 are :: and ::1, named as such.)
          if (inner && n > 1) expect(addressProblem(dead), dead).toContain(inner);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('gives every spelling of an address the same answer', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6, fc.ipV6()), (ip) => {
        const want = addressProblem(ip);
        expect(want).not.toBe('not an IP address');
        const normal = new URL(`http://[${ip}]/`).hostname;
        const expanded = expand(ip);
        for (const spelling of [normal, normal.slice(1, -1), ip.toUpperCase(), `${ip}%eth0`, expanded])
          expect(addressProblem(spelling), `${ip} as ${spelling}`).toBe(want);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    fc.assert(
      fc.property(ipv4, (ip) => {
        expect(addressProblem(new URL(`http://${ip}/`).hostname)).toBe(addressProblem(ip));
        expect(addressProblem(`::ffff:${ip}`) === null).toBe(addressProblem(ip) === null);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('names what an address is, and refuses text that is none', () => {
    expect(addressProblem('127.0.0.1')).toBe('loopback');
    expect(addressProblem('::7f00:1')).toBe('loopback (127.0.0.1 as IPv4-compatible IPv6)');
    expect(addressProblem('::ffff:0:7f00:1')).toBe('loopback (127.0.0.1 as IPv4-translated IPv6)');
    expect(addressProblem('64:ff9b::7f00:1')).toBe('loopback (127.0.0.1 as NAT64)');
    expect(addressProblem('2002:7f00:1::')).toBe('loopback (127.0.0.1 as 6to4)');
    expect(addressProblem('fec0::1')).toBe('private (site-local, deprecated)');
    expect(addressProblem('2001:db8::1')).toBe('documentation');
    expect(addressProblem('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toBe('reserved (Teredo)');
    expect(addressProblem('203.0.113.9')).toBe('documentation');
    expect(addressProblem('255.255.255.255')).toBe('broadcast');
    for (const ok of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])
      expect(addressProblem(ok), ok).toBeNull();
    for (const bad of ['', 'evil.example', '1.2.3', '256.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '::1.2.3'])
      expect(addressProblem(bad), bad).toBe('not an IP address');
  });
});

function form(carried: string): string {
  return carried.startsWith('64:') ? 'NAT64' : 'IPv4-mapped IPv6';
}

/** Eight four-digit groups (an IPv4 tail written as two groups). */
function expand(ip: string): string {
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  const text = tail ? ip.replace(tail, hexPair(v4Number(tail))) : ip;
  const [head = '', rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
