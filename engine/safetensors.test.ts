import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError } from './safetensors.js';

function build(header: object, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

describe('parseSafetensors', () => {
  it('reads tensors and metadata', () => {
    const file = build(
      { __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } },
      f32([1, 2, 3, 4]),
    );
    const { tensors, metadata } = parseSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('w')?.shape).toEqual([2, 2]);
    expect(Array.from(tensors.get('w')?.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('reads from a view into a larger buffer (a pooled Node Buffer) at an odd offset', () => {
    const file = build({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32([5, 6, 7]));
    const pool = new Uint8Array(file.length + 13).fill(0xff);
    pool.set(file, 13);
    const { tensors } = parseSafetensors(pool.subarray(13));
    expect(Array.from(tensors.get('w')?.data as Float32Array)).toEqual([5, 6, 7]);
  });

  it('widens F16 to F32', () => {
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer); // 1, -2, ~1/3
    const { tensors } = parseSafetensors(
      build({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, half),
    );
    const v = Array.from(tensors.get('h')?.data as Float32Array);
    expect(v[0]).toBe(1);
    expect(v[1]).toBe(-2);
    expect(v[2]).toBeCloseTo(1 / 3, 3);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(4), /shorter/],
    ['header past the end', build({}, new Uint8Array()).subarray(0, 9), /header length/],
    [
      'not JSON',
      (() => {
        const b = build({ a: 1 }, new Uint8Array());
        b[9] = 0x7b;
        b[10] = 0xff;
        return b;
      })(),
      /JSON/,
    ],
    [
      'unknown dtype',
      build({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /dtype/,
    ],
    [
      'negative dim',
      build({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /shape/,
    ],
    [
      'offsets out of bounds',
      build({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32([1])),
      /bounds/,
    ],
    [
      'size does not match shape',
      build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, f32([1])),
      /bytes for shape/,
    ],
    [
      'overlapping tensors',
      build(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32([1, 2, 3]),
      ),
      /overlaps/,
    ],
  ];
  for (const [name, bytes, message] of bad) {
    it(`refuses a file with ${name}`, () => {
      expect(() => parseSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => parseSafetensors(bytes)).toThrow(message);
    });
  }

  it('refuses a file over the size limit', () => {
    const file = build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1]));
    expect(() => parseSafetensors(file, { maxBytes: 10 })).toThrow(/over the limit/);
  });
});
