// A strict safetensors reader (Web APIs only): 8-byte little-endian header length, a JSON header, then raw
// little-endian tensor bytes. Every field is checked before a byte of data is touched, so a hostile or
// truncated file is refused with a SafetensorsError instead of reading out of bounds.

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export type DType = 'F32' | 'F16' | 'I64' | 'I32';

export interface TensorView {
  dtype: DType;
  shape: number[];
  /** The tensor's values; F16 is widened to F32, I64 stays BigInt64Array. */
  data: Float32Array | Int32Array | BigInt64Array;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorView>;
  metadata: Record<string, string>;
}

const BYTES: Record<DType, number> = { F32: 4, F16: 2, I64: 8, I32: 4 };
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const MAX_DIMS = 8;

export function parseSafetensors(bytes: Uint8Array, opts: { maxBytes?: number } = {}): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`invalid safetensors file: ${msg}`);
  };
  if (opts.maxBytes !== undefined && bytes.byteLength > opts.maxBytes) {
    fail(`${bytes.byteLength} bytes, over the limit of ${opts.maxBytes}`);
  }
  if (bytes.byteLength < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.byteLength)
    fail(`header length ${headerLen} out of range`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    fail('header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not an object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const tensors = new Map<string, TensorView>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) fail('__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(raw as object).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`${name}: entry is not an object`);
    const dtype = info.dtype as DType;
    if (!(typeof dtype === 'string' && dtype in BYTES))
      fail(`${name}: unsupported dtype ${String(info.dtype)}`);
    const shape = info.shape;
    if (
      !Array.isArray(shape) ||
      shape.length > MAX_DIMS ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      fail(`${name}: bad shape`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${name}: bad data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin > end || end > dataLen) fail(`${name}: data offsets [${begin}, ${end}] out of bounds`);
    if (end - begin !== count * BYTES[dtype])
      fail(`${name}: ${end - begin} bytes for shape [${shape}] of ${dtype}`);
    spans.push([begin, end, name]);
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      data: decode(bytes, dataStart + begin, count, dtype),
    });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1] as [number, number, string];
    const cur = spans[i] as [number, number, string];
    if (cur[0] < prev[1]) fail(`${cur[2]} overlaps ${prev[2]}`);
  }
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, at: number, count: number, dtype: DType): TensorView['data'] {
  // Copy into an aligned buffer: the data section need not be aligned for typed-array views.
  const raw = new Uint8Array(bytes.subarray(at, at + count * BYTES[dtype])).buffer; // a copy, even of a Node Buffer
  switch (dtype) {
    case 'F32':
      return new Float32Array(raw);
    case 'I32':
      return new Int32Array(raw);
    case 'I64':
      return new BigInt64Array(raw);
    case 'F16':
      return halfToFloat(new Uint16Array(raw));
  }
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i] as number;
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >> 10) & 0x1f;
    const frac = x & 0x3ff;
    if (exp === 0) out[i] = sign * 2 ** -14 * (frac / 1024);
    else if (exp === 31) out[i] = frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else out[i] = sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}
