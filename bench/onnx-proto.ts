// Just enough of the ONNX protobuf to write tiny single-purpose graphs (a MatMul, a chain of Adds) for the
// ceiling measurements, and to count the nodes of a model file. Field numbers are onnx.proto3's.

import { concat, varint } from '../engine/testing.js';

// --- writing ---

type Field = Uint8Array;

const key = (field: number, wire: number) => varint(field * 8 + wire);
const vint = (field: number, n: number): Field => Uint8Array.from([...key(field, 0), ...varint(n)]);
const bytes = (field: number, b: Uint8Array): Field =>
  concat([Uint8Array.from([...key(field, 2), ...varint(b.length)]), b]);
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, concat(parts));

const FLOAT = 1;

/** A dimension: a size, or a name for a dynamic axis (sizes then come from the fed tensors). */
export type Dim = number | string;

export interface TinyNode {
  op: string;
  inputs: string[];
  output: string;
}

export interface TinyGraph {
  /** Float inputs. */
  inputs: { name: string; dims: Dim[] }[];
  output: { name: string; dims: Dim[] };
  /** Float initializers (constant weights). */
  initializers?: { name: string; dims: number[]; data: Float32Array }[];
  nodes: TinyNode[];
}

const dim = (d: Dim): Field => msg(1, typeof d === 'number' ? vint(1, d) : str(2, d));

const valueInfo = (field: number, name: string, dims: Dim[]): Field =>
  msg(field, str(1, name), msg(2, msg(1, vint(1, FLOAT), msg(2, ...dims.map(dim)))));

/** An opset-17 ModelProto for the graph. */
export function tinyModel(g: TinyGraph): Uint8Array {
  const graph = msg(
    7,
    ...g.nodes.map((n, i) =>
      msg(1, ...n.inputs.map((x) => str(1, x)), str(2, n.output), str(3, `n${i}`), str(4, n.op)),
    ),
    str(2, 'tiny'),
    ...(g.initializers ?? []).map((t) =>
      msg(
        5,
        ...t.dims.map((d) => vint(1, d)),
        vint(2, FLOAT),
        str(8, t.name),
        bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
      ),
    ),
    ...g.inputs.map((i) => valueInfo(11, i.name, i.dims)),
    valueInfo(12, g.output.name, g.output.dims),
  );
  return concat([vint(1, 8), str(2, 'tailor-bench'), graph, msg(8, str(1, ''), vint(2, 17))]);
}

// --- reading ---

/** The fields of one protobuf message: [field number, wire type, value or bytes]. */
function* fields(buf: Uint8Array): Generator<[number, number, Uint8Array | null]> {
  let at = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[at++] as number;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < buf.length) {
    const k = Number(readVarint());
    const field = k >>> 3;
    const wire = k & 7;
    if (wire === 0) {
      readVarint();
      yield [field, wire, null];
    } else if (wire === 2) {
      const len = Number(readVarint());
      yield [field, wire, buf.subarray(at, at + len)];
      at += len;
    } else if (wire === 1) {
      at += 8;
      yield [field, wire, null];
    } else if (wire === 5) {
      at += 4;
      yield [field, wire, null];
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Node count by op type of a model file's main graph. */
export function countNodes(model: Uint8Array): Map<string, number> {
  const ops = new Map<string, number>();
  for (const [f, , graph] of fields(model)) {
    if (f !== 7 || !graph) continue;
    for (const [g, , node] of fields(graph)) {
      if (g !== 1 || !node) continue;
      for (const [n, , v] of fields(node)) {
        if (n === 4 && v) {
          const op = new TextDecoder().decode(v);
          ops.set(op, (ops.get(op) ?? 0) + 1);
        }
      }
    }
  }
  return ops;
}
