// Two rewrites of the shipped decoder graph, done on its protobuf bytes at load time (Web APIs only):
//
// - `baseOnlyGraph`: the same model without its LoRA inputs. Every LoRA delta in the exported graph is
//   Transpose/MatMul nodes fed by a `*.lora_A.weight`/`*.lora_B.weight` input and joined to the projection by
//   one Add (y = W·x + (x·Aᵀ)·Bᵀ). Dropping those nodes and inputs and turning each joining Add into an
//   Identity of the projection is exactly rank 0 — minus the 56 inputs and 84 nodes a rank-0 run still pays.
//   The package stays one file; a request without an adapter runs this graph.
// - `mergeLora`: a copy with one adapter's ΔW = B·A added into the projections' weights, for a user served
//   often enough to deserve a session of their own (zero per-step cost for the adapter).
//
// Field numbers are onnx.proto3's: ModelProto.graph = 7; GraphProto node = 1, initializer = 5, input = 11,
// value_info = 13; NodeProto input = 1, output = 2, name = 3, op_type = 4; TensorProto dims = 1,
// data_type = 2, name = 8, raw_data = 9; ValueInfoProto name = 1.

interface Field {
  field: number;
  wire: number;
  /** Where the field's tag starts, and where the whole field ends. */
  start: number;
  end: number;
  /** Length-delimited fields: where the payload starts. */
  value: number;
}

function readVarint(b: Uint8Array, at: number): [number, number] {
  let n = 0;
  let mul = 1;
  let i = at;
  for (;;) {
    const byte = b[i++];
    if (byte === undefined) throw new Error('truncated protobuf');
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return [n, i];
    mul *= 128;
  }
}

function fields(b: Uint8Array, start = 0, end = b.length): Field[] {
  const out: Field[] = [];
  let at = start;
  while (at < end) {
    const [tag, afterTag] = readVarint(b, at);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    let value = afterTag;
    let next: number;
    if (wire === 0) next = readVarint(b, afterTag)[1];
    else if (wire === 1) next = afterTag + 8;
    else if (wire === 5) next = afterTag + 4;
    else if (wire === 2) {
      const [len, payload] = readVarint(b, afterTag);
      value = payload;
      next = payload + len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (next > end) throw new Error('truncated protobuf');
    out.push({ field, wire, start: at, end: next, value });
    at = next;
  }
  return out;
}

const utf8 = new TextDecoder();
const text = (b: Uint8Array, f: Field) => utf8.decode(b.subarray(f.value, f.end));

export function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A length-delimited field holding `payload`. */
function lengthField(field: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([...varint(field * 8 + 2), ...varint(payload.length)]), payload]);
}

const stringField = (field: number, s: string) => lengthField(field, new TextEncoder().encode(s));

interface Node {
  field: Field;
  inputs: string[];
  outputs: string[];
  name: string;
  op: string;
}

function readNode(b: Uint8Array, f: Field): Node {
  const node: Node = { field: f, inputs: [], outputs: [], name: '', op: '' };
  for (const x of fields(b, f.value, f.end)) {
    if (x.field === 1) node.inputs.push(text(b, x));
    else if (x.field === 2) node.outputs.push(text(b, x));
    else if (x.field === 3) node.name = text(b, x);
    else if (x.field === 4) node.op = text(b, x);
  }
  return node;
}

function graphOf(model: Uint8Array): Field {
  const g = fields(model).find((f) => f.field === 7 && f.wire === 2);
  if (!g) throw new Error('no graph in the model');
  return g;
}

/** The model with its graph's fields replaced by `graphParts` (other model fields kept as they are). */
function withGraph(model: Uint8Array, graphParts: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields(model)) {
    parts.push(
      f.field === 7 && f.wire === 2 ? lengthField(7, concat(graphParts)) : model.subarray(f.start, f.end),
    );
  }
  return concat(parts);
}

/** The graph without the inputs named by `isLora` and everything that only they feed (see the top). */
export function baseOnlyGraph(model: Uint8Array, isLora: (input: string) => boolean): Uint8Array {
  const g = graphOf(model);
  const gf = fields(model, g.value, g.end);
  const tainted = new Set<string>();
  for (const f of gf) {
    if (f.field !== 11) continue;
    const name = fields(model, f.value, f.end).find((x) => x.field === 1);
    if (name && isLora(text(model, name))) tainted.add(text(model, name));
  }
  if (tainted.size === 0) throw new Error('the graph has no LoRA inputs');
  const kept: Uint8Array[] = [];
  let joins = 0;
  for (const f of gf) {
    if (f.field === 1) {
      const node = readNode(model, f); // nodes are in topological order
      const hit = node.inputs.map((i) => tainted.has(i));
      if (!hit.some(Boolean)) {
        kept.push(model.subarray(f.start, f.end));
        continue;
      }
      if (node.op === 'Add' && node.inputs.length === 2 && hit.filter(Boolean).length === 1) {
        const base = node.inputs[hit.indexOf(false)] as string;
        kept.push(
          lengthField(
            1,
            concat([
              stringField(1, base),
              stringField(2, node.outputs[0] as string),
              stringField(3, `${node.name}/base_only`),
              stringField(4, 'Identity'),
            ]),
          ),
        );
        joins++;
        continue;
      }
      if (node.op !== 'Transpose' && node.op !== 'MatMul')
        throw new Error(`a LoRA input reaches a ${node.op} node (${node.name}): not a LoRA delta`);
      for (const o of node.outputs) tainted.add(o);
      continue;
    }
    if (f.field === 11 || f.field === 13) {
      const name = fields(model, f.value, f.end).find((x) => x.field === 1);
      if (name && tainted.has(text(model, name))) continue;
    }
    kept.push(model.subarray(f.start, f.end));
  }
  if (joins === 0) throw new Error('no LoRA delta joins a projection');
  return withGraph(model, kept);
}

/** One module's weight update: ΔW [out, in] = B [out, r] · A [r, in] (scaling already in B). */
export interface LoraDelta {
  /** e.g. `model.layers.0.self_attn.q_proj`. */
  module: string;
  a: Float32Array;
  b: Float32Array;
  r: number;
}

/**
 * A copy of the model with each delta added into its projection's weight: the initializer of the MatMul the
 * export names `/model/layers.{i}/{self_attn|mlp}/{target}/MatMul`, stored transposed as [in, out] fp32.
 */
export function mergeLora(model: Uint8Array, deltas: readonly LoraDelta[]): Uint8Array {
  const out = model.slice();
  const g = graphOf(out);
  const gf = fields(out, g.value, g.end);
  const weightOf = new Map<string, string>(); // node scope → initializer name
  const initializers = new Map<string, Field>();
  for (const f of gf) {
    if (f.field === 1) {
      const node = readNode(out, f);
      const m = /^\/(model\/layers\.\d+\/(?:self_attn|mlp)\/\w+_proj)\/MatMul$/.exec(node.name);
      if (m && node.op === 'MatMul' && node.inputs[1]) weightOf.set(m[1] as string, node.inputs[1]);
    } else if (f.field === 5) {
      const name = fields(out, f.value, f.end).find((x) => x.field === 8);
      if (name) initializers.set(text(out, name), f);
    }
  }
  for (const d of deltas) {
    const m = /^model\.layers\.(\d+)\.(\w+)\.(\w+)$/.exec(d.module);
    const scope = m ? `model/layers.${m[1]}/${m[2]}/${m[3]}` : '';
    const init = initializers.get(weightOf.get(scope) ?? '');
    if (!init) throw new Error(`no weight found for ${d.module}`);
    const tf = fields(out, init.value, init.end);
    const dims = tf.filter((x) => x.field === 1 && x.wire === 0).map((x) => readVarint(out, x.value)[0]);
    const type = tf.find((x) => x.field === 2);
    const raw = tf.find((x) => x.field === 9);
    const fin = d.a.length / d.r;
    const fout = d.b.length / d.r;
    if (!raw || !type || readVarint(out, type.value)[0] !== 1 || dims[0] !== fin || dims[1] !== fout)
      throw new Error(`${d.module}: the weight is not fp32 [${fin}, ${fout}] raw data`);
    const w = new DataView(out.buffer, out.byteOffset + raw.value, raw.end - raw.value);
    for (let i = 0; i < fin; i++) {
      for (let o = 0; o < fout; o++) {
        let s = 0;
        for (let k = 0; k < d.r; k++) s += (d.b[o * d.r + k] as number) * (d.a[k * fin + i] as number);
        const at = (i * fout + o) * 4;
        w.setFloat32(at, w.getFloat32(at, true) + s, true);
      }
    }
  }
  return out;
}
