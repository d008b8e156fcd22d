// Property-based fuzzing (fast-check, fixed seeds) of the safetensors reader: random bytes, random headers and
// valid files mutated (truncated, a header length that lies, offsets that overlap or run out of the file,
// dtypes and shapes that do not fit, bytes flipped, NaN and Inf values, a huge header). Whatever it is given,
// parseSafetensors returns a file whose every tensor holds exactly its shape's values, or throws a
// SafetensorsError: never another exception, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError, type SafetensorsFile } from './safetensors.js';

const SEED = 20_260_518;
const RUNS = 300;
/** A parse of a few kilobytes that takes longer than this is a hang. */
const SLOW_MS = 1_000;

const BYTES: Record<string, number> = { F32: 4, F16: 2, I64: 8, I32: 4 };

/** The file, or the error it threw; anything but a SafetensorsError fails here. */
function parse(bytes: Uint8Array, opts?: { maxBytes?: number }): SafetensorsFile | SafetensorsError {
  const t0 = performance.now();
  try {
    const file = parseSafetensors(bytes, opts);
    expect(performance.now() - t0, `parsed ${bytes.byteLength} bytes`).toBeLessThan(SLOW_MS);
    for (const [name, t] of file.tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      expect(BYTES[t.dtype], name).toBeGreaterThan(0);
      expect(t.data.length, `${name}: values for shape [${t.shape}]`).toBe(count);
    }
    for (const v of Object.values(file.metadata)) expect(typeof v).toBe('string');
    return file;
  } catch (e) {
    if (!(e instanceof SafetensorsError))
      throw new Error(`not a SafetensorsError: ${String(e)}`, { cause: e });
    expect(performance.now() - t0, `refused ${bytes.byteLength} bytes`).toBeLessThan(SLOW_MS);
    expect(e.message).toMatch(/^invalid safetensors file: /);
    return e;
  }
}

function build(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const head = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** A valid file: tensors laid out one after the other, with their values. */
function validFile(): { header: Record<string, unknown>; data: Uint8Array } {
  const a = new Float32Array([1, -2, 3.5, 0, Number.NaN, Number.POSITIVE_INFINITY]);
  const b = new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x7e00]); // F16: 1, -2, Inf, NaN
  const c = new Int32Array([7, -7]);
  const d = new BigInt64Array([1n, -1n]);
  const parts = [a, b, c, d].map((x) => new Uint8Array(x.buffer));
  const data = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  const offsets: [number, number][] = [];
  let at = 0;
  for (const x of parts) {
    data.set(x, at);
    offsets.push([at, at + x.length]);
    at += x.length;
  }
  return {
    header: {
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: offsets[0] },
      b: { dtype: 'F16', shape: [4], data_offsets: offsets[1] },
      c: { dtype: 'I32', shape: [1, 2], data_offsets: offsets[2] },
      d: { dtype: 'I64', shape: [2], data_offsets: offsets[3] },
    },
    data,
  };
}

const dim = fc.oneof(
  fc.nat(8),
  fc.constantFrom(-1, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, '2', null, [], {}),
);
const offset = fc.oneof(fc.nat(64), fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 32, 1e308, '0', null, true));
const entry = fc.record(
  {
    dtype: fc.oneof(
      fc.constantFrom('F32', 'F16', 'I32', 'I64', 'BF16', 'F64', 'U8', 'f32', '', 'toString', '__proto__'),
      fc.string({ maxLength: 6 }),
      fc.constantFrom(null, 4, ['F32'], { F32: 1 }),
    ),
    shape: fc.oneof(fc.array(dim, { maxLength: 10 }), fc.constantFrom(null, 4, 'x', { 0: 1 })),
    data_offsets: fc.oneof(
      fc.tuple(offset, offset),
      fc.array(offset, { maxLength: 4 }),
      fc.constantFrom(null, 0, '0,4', { 0: 0, 1: 4 }),
    ),
  },
  { requiredKeys: [] },
);
const name = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__metadata__', '__proto__', 'constructor', 'a', ''),
);
const header = fc.dictionary(name, fc.oneof({ arbitrary: entry, weight: 5 }, fc.jsonValue({ maxDepth: 2 })), {
  maxKeys: 5,
});

const fast = (salt: number, runs = RUNS) => ({ seed: SEED + salt, numRuns: runs });

describe('parseSafetensors under fuzzing', () => {
  it('reads the valid file it is fed (NaN and Inf values are data, not errors)', () => {
    const { header: h, data } = validFile();
    const file = parse(build(h, data));
    expect(file).not.toBeInstanceOf(SafetensorsError);
    expect((file as SafetensorsFile).tensors.size).toBe(4);
  });

  it(`answers random bytes (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        parse(bytes);
      }),
      fast(0),
    );
  });

  it(`answers random headers over random data (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 96 }), (h, data) => {
        parse(build(h, data));
      }),
      fast(1),
    );
  });

  it(`answers random header text, and header lengths that lie (${RUNS} runs)`, () => {
    const { header: h, data } = validFile();
    const text = JSON.stringify(h);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json({ maxDepth: 3 }),
          fc.nat(text.length).map((n) => text.slice(0, n)),
          fc.constant(`\ufeff${text}`),
          fc.constant(`${text}   `),
        ),
        fc.option(
          fc.oneof(
            fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(16 * 1024 * 1024 + 1)),
            fc.nat(text.length + data.length + 16).map(BigInt),
          ),
          { nil: undefined },
        ),
        (head, length) => {
          parse(build(head, data, length));
        },
      ),
      fast(2),
    );
  });

  it(`answers valid files mutated: entries changed, bytes flipped, cut short, grown (${RUNS} runs)`, () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('entry' as const), tensor: fc.constantFrom('a', 'b', 'c', 'd'), entry }),
      fc.record({
        kind: fc.constant('field' as const),
        tensor: fc.constantFrom('a', 'b', 'c', 'd', '__metadata__'),
        field: fc.constantFrom('dtype', 'shape', 'data_offsets'),
        value: fc.oneof(
          entry.map((e) => e.shape),
          entry.map((e) => e.data_offsets),
          entry.map((e) => e.dtype),
        ),
      }),
      fc.record({ kind: fc.constant('overlap' as const), from: fc.nat(3), to: fc.nat(3) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('grow' as const),
        extra: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const { header: h, data } = validFile();
        const names = ['a', 'b', 'c', 'd'];
        for (const m of ms) {
          if (m.kind === 'entry') h[m.tensor] = m.entry;
          else if (m.kind === 'field') {
            const e = h[m.tensor];
            if (typeof e === 'object' && e !== null) (e as Record<string, unknown>)[m.field] = m.value;
          } else if (m.kind === 'overlap') {
            const a = h[names[m.from] as string] as { data_offsets?: unknown };
            const b = h[names[m.to] as string] as { data_offsets?: unknown };
            if (a && b) a.data_offsets = b.data_offsets;
          }
        }
        let bytes: Uint8Array = build(h, data);
        for (const m of ms) {
          if (m.kind === 'flip') bytes[m.at % bytes.length] = m.byte;
          else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at % bytes.length);
          else if (m.kind === 'grow') {
            const grown: Uint8Array = new Uint8Array(bytes.length + m.extra.length);
            grown.set(bytes);
            grown.set(m.extra, bytes.length);
            bytes = grown;
          }
        }
        parse(bytes);
        parse(bytes, { maxBytes: 64 });
      }),
      fast(3),
    );
  });

  it('refuses a huge header and a huge file quickly', () => {
    const { data } = validFile();
    const padding = ' '.repeat(16 * 1024 * 1024 + 1);
    expect(parse(build(padding, data))).toBeInstanceOf(SafetensorsError);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parse(build(deep, data))).toBeInstanceOf(SafetensorsError);
    const many = Object.fromEntries(
      Array.from({ length: 5_000 }, (_, i) => [`t${i}`, { dtype: 'F32', shape: [0], data_offsets: [0, 0] }]),
    );
    expect(parse(build(many, new Uint8Array(0)))).not.toBeInstanceOf(SafetensorsError);
    expect(parse(new Uint8Array(1024 * 1024), { maxBytes: 1024 })).toBeInstanceOf(SafetensorsError);
  });
});
