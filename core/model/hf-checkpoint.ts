// The strict reader of a Hugging Face checkpoint directory (what `save_pretrained` writes), run before any import
// work. It reads config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
// model.safetensors.index.json and the safetensors headers (never the weights themselves, never a pickle), and
// refuses whatever the importer and the engine do not support with a CheckpointError naming the field and the
// value. Web APIs only (no `node:` imports): the caller hands it the directory as CheckpointFiles.

export type CheckpointFamily = 'llama' | 'mistral' | 'qwen2';
export type CheckpointDtype = 'float32' | 'float16' | 'bfloat16';
/** Byte-level BPE (GPT-2, Llama 3, Qwen2) or SentencePiece-style BPE (Llama 2, TinyLlama, Mistral). */
export type TokenizerStyle = 'byte-level' | 'sentencepiece';

/** The checkpoint directory: its file names and a way to read each (null: no such file). */
export interface CheckpointFiles {
  names: readonly string[];
  read(name: string): Promise<Uint8Array | null>;
  /** The first `bytes` bytes of the file (fewer if the file is shorter). */
  head(name: string, bytes: number): Promise<Uint8Array | null>;
  size(name: string): Promise<number | null>;
}

export interface CheckpointSummary {
  family: CheckpointFamily;
  /** `architectures[0]` of config.json, e.g. LlamaForCausalLM. */
  architecture: string;
  /** The one dtype every tensor is stored in. */
  dtype: CheckpointDtype;
  /** Sum of the element counts of every tensor in the safetensors headers. */
  params: number;
  /** model.safetensors, or the shards the index names (sorted). */
  weightFiles: string[];
  tokenizer: TokenizerStyle;
  /** config.json's vocab_size (the embedding's rows; may exceed tokenizerSize: padded rows). */
  vocabSize: number;
  /** Highest token id of tokenizer.json (vocabulary and added tokens) + 1. */
  tokenizerSize: number;
  /** min(servedContext, max_position_embeddings). */
  context: number;
  hasChatTemplate: boolean;
  addBos: boolean;
  bosTokenId: number | null;
  /** config.json's eos_token_id then generation_config.json's (each a number or a list), without repeats. */
  eosTokenIds: number[];
}

/**
 * A checkpoint the platform does not support. `field` names what was refused: a config.json key path
 * (`hidden_act`, `rope_scaling.type`), a key path of another file (`model.type` of tokenizer.json, `weight_map`),
 * a tensor name, or a file name when the file itself is missing or unreadable.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const ARCHITECTURES = new Map<string, CheckpointFamily>([
  ['LlamaForCausalLM', 'llama'],
  ['MistralForCausalLM', 'mistral'],
  ['Qwen2ForCausalLM', 'qwen2'],
]);
const ROPE_TYPES = ['default', 'linear', 'llama3'];
const TENSOR_DTYPES = new Map<string, [CheckpointDtype, number]>([
  ['F32', ['float32', 4]],
  ['F16', ['float16', 2]],
  ['BF16', ['bfloat16', 2]],
]);
const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/i;
const MIB = 1024 * 1024;
const MAX_HEADER_BYTES = 100 * MIB;
/** config.json, tokenizer_config.json, generation_config.json, the index. */
const MAX_SMALL_JSON = 16 * MIB;
const MAX_TOKENIZER_JSON = 256 * MIB;
/** How deep a Sequence of pre-tokenizers or normalizers is searched. */
const MAX_SEQUENCE_DEPTH = 8;

type Obj = Record<string, unknown>;

function fail(field: string, message: string): never {
  throw new CheckpointError(field, message);
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only (a key such as `constructor` must not reach Object.prototype). */
function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** An optional field: JSON null reads as absent. */
function opt(o: Obj, key: string): unknown {
  const v = own(o, key);
  return v === null ? undefined : v;
}

/** A value for a message: JSON, cut short. */
function show(v: unknown): string {
  if (v === undefined) return 'absent';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = `(${typeof v})`;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isNatural(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPositiveNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

async function readJson(
  files: CheckpointFiles,
  present: ReadonlySet<string>,
  name: string,
  limit: number,
): Promise<unknown> {
  if (!present.has(name)) return undefined;
  const size = await files.size(name);
  if (size !== null && size > limit) fail(name, `${name} is ${size} bytes, over the limit of ${limit}`);
  const bytes = await files.read(name);
  if (bytes === null) return undefined;
  if (bytes.byteLength > limit)
    fail(name, `${name} is ${bytes.byteLength} bytes, over the limit of ${limit}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(name, `${name} is not UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch {
    return fail(name, `${name} is not valid JSON`);
  }
}

// ---- config.json ----

interface ModelShape {
  family: CheckpointFamily;
  architecture: string;
  vocabSize: number;
  context: number;
}

function checkConfig(c: unknown, servedContext: number): ModelShape {
  if (c === undefined) fail('config.json', 'config.json is missing');
  if (!isObject(c)) fail('config.json', 'config.json is not a JSON object');
  const supported = [...ARCHITECTURES.keys()].join(', ');
  const archs = own(c, 'architectures');
  if (!Array.isArray(archs) || typeof archs[0] !== 'string')
    fail(
      'architectures',
      `architectures ${show(archs)} does not name the model class (supported: ${supported})`,
    );
  const architecture = archs[0] as string;
  const family = ARCHITECTURES.get(architecture);
  if (family === undefined)
    fail(
      'architectures',
      `architectures[0] ${show(architecture)} is not supported (supported: ${supported})`,
    );
  const modelType = own(c, 'model_type');
  if (modelType !== family)
    fail('model_type', `model_type ${show(modelType)} does not match ${architecture} (expected "${family}")`);
  const quantization = opt(c, 'quantization_config');
  if (quantization !== undefined)
    fail(
      'quantization_config',
      `quantization_config ${show(quantization)} is not supported: import the unquantized checkpoint`,
    );

  const int = (key: string): number => {
    const v = own(c, key);
    if (!isPositiveInt(v)) fail(key, `${key} must be a positive integer (got ${show(v)})`);
    return v;
  };
  const vocabSize = int('vocab_size');
  const hidden = int('hidden_size');
  int('intermediate_size');
  const layers = int('num_hidden_layers');
  const heads = int('num_attention_heads');
  const kvHeads = opt(c, 'num_key_value_heads') === undefined ? heads : int('num_key_value_heads');
  if (heads % kvHeads !== 0)
    fail(
      'num_key_value_heads',
      `num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`,
    );
  const maxPositions = int('max_position_embeddings');
  let headDim: number;
  if (opt(c, 'head_dim') === undefined) {
    if (hidden % heads !== 0)
      fail(
        'hidden_size',
        `hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}, and no head_dim is given`,
      );
    headDim = hidden / heads;
  } else headDim = int('head_dim');
  if (headDim % 2 !== 0)
    fail('head_dim', `head_dim ${headDim} is odd: rotary embeddings need an even head_dim`);

  const act = own(c, 'hidden_act') ?? 'silu';
  if (act !== 'silu') fail('hidden_act', `hidden_act ${show(act)} is not supported (supported: silu)`);
  const mlpBias = opt(c, 'mlp_bias');
  if (mlpBias !== undefined && mlpBias !== false)
    fail('mlp_bias', `mlp_bias ${show(mlpBias)} is not supported (supported: false)`);
  for (const key of ['attention_bias', 'tie_word_embeddings']) {
    const v = opt(c, key);
    if (v !== undefined && typeof v !== 'boolean') fail(key, `${key} must be true or false (got ${show(v)})`);
  }
  checkRope(c);

  const context = Math.min(servedContext, maxPositions);
  checkWindow(c, family, layers, context);
  return { family, architecture, vocabSize, context };
}

/** Rotary embeddings: transformers 5's `rope_parameters`, or the older `rope_theta` + `rope_scaling`. */
function checkRope(c: Obj): void {
  const partial = opt(c, 'partial_rotary_factor');
  if (partial !== undefined && partial !== 1)
    fail('partial_rotary_factor', `partial_rotary_factor ${show(partial)} is not supported (supported: 1)`);
  const params = opt(c, 'rope_parameters');
  let scaling: Obj | undefined;
  let theta: unknown;
  if (params !== undefined) {
    if (!isObject(params)) fail('rope_parameters', `rope_parameters ${show(params)} is not an object`);
    scaling = params;
    theta = opt(params, 'rope_theta') ?? opt(c, 'rope_theta');
  } else {
    theta = opt(c, 'rope_theta');
    const legacy = opt(c, 'rope_scaling');
    if (legacy !== undefined && !isObject(legacy))
      fail('rope_scaling', `rope_scaling ${show(legacy)} is not an object`);
    scaling = legacy;
  }
  if (theta !== undefined && !isPositiveNumber(theta))
    fail('rope_theta', `rope_theta must be a positive number (got ${show(theta)})`);
  if (scaling === undefined) return;
  const p = scaling;
  let type = opt(p, 'rope_type') ?? opt(p, 'type');
  if (type === undefined) {
    // rope_parameters without a type is the default rotation; one per layer type (objects inside) is not.
    if (params === undefined || Object.values(p).some((v) => typeof v === 'object' && v !== null))
      fail('rope_scaling.type', `rope_scaling.type is absent (supported: ${ROPE_TYPES.join(', ')})`);
    type = 'default';
  }
  if (typeof type !== 'string' || !ROPE_TYPES.includes(type))
    fail(
      'rope_scaling.type',
      `rope_scaling.type ${show(type)} is not supported (supported: ${ROPE_TYPES.join(', ')})`,
    );
  const partialInside = opt(p, 'partial_rotary_factor');
  if (partialInside !== undefined && partialInside !== 1)
    fail(
      'rope_scaling.partial_rotary_factor',
      `rope_scaling.partial_rotary_factor ${show(partialInside)} is not supported (supported: 1)`,
    );
  const positive = (key: string): number => {
    const v = own(p, key);
    if (!isPositiveNumber(v))
      fail(
        `rope_scaling.${key}`,
        `rope_scaling.${key} must be a positive number for ${type} (got ${show(v)})`,
      );
    return v;
  };
  if (type === 'linear') positive('factor');
  else if (type === 'llama3') {
    positive('factor');
    const low = positive('low_freq_factor');
    const high = positive('high_freq_factor');
    positive('original_max_position_embeddings');
    if (high <= low)
      fail(
        'rope_scaling.high_freq_factor',
        `rope_scaling.high_freq_factor ${high} must be greater than low_freq_factor ${low}`,
      );
  }
}

/** Sliding-window attention is not supported: a window must cover the whole served context. */
function checkWindow(c: Obj, family: CheckpointFamily, layers: number, context: number): void {
  const layerTypes = opt(c, 'layer_types');
  let slidingLayers = false;
  if (layerTypes !== undefined) {
    if (
      !Array.isArray(layerTypes) ||
      layerTypes.length !== layers ||
      !layerTypes.every((t) => t === 'full_attention' || t === 'sliding_attention')
    )
      fail(
        'layer_types',
        `layer_types ${show(layerTypes)} is not a list of ${layers} "full_attention" or "sliding_attention"`,
      );
    slidingLayers = layerTypes.includes('sliding_attention');
  }
  let windowed = slidingLayers;
  if (family === 'mistral') windowed = true;
  else if (family === 'qwen2') {
    const use = opt(c, 'use_sliding_window');
    if (use !== undefined && typeof use !== 'boolean')
      fail('use_sliding_window', `use_sliding_window must be true or false (got ${show(use)})`);
    windowed = use === true || slidingLayers;
  }
  const window = opt(c, 'sliding_window');
  if (!windowed || window === undefined) return;
  if (!isPositiveInt(window))
    fail('sliding_window', `sliding_window must be a positive integer or null (got ${show(window)})`);
  if (window < context)
    fail(
      'sliding_window',
      `sliding_window ${window} is shorter than the served context ${context}: sliding-window attention is not supported`,
    );
}

// ---- weights ----

interface Weights {
  weightFiles: string[];
  params: number;
  dtype: CheckpointDtype;
}

interface HeaderTensor {
  dtype: string;
  count: number;
}

function checkShardName(shard: unknown, tensor: string): string {
  const bad = (why: string): never =>
    fail('weight_map', `${INDEX}: weight_map maps ${tensor} to ${show(shard)}, which ${why}`);
  if (typeof shard !== 'string') return bad('is not a file name');
  if (shard.includes('/') || shard.includes('\\') || shard.includes('..') || shard.startsWith('.'))
    return bad('is not a plain file name of the checkpoint directory');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(shard)) return bad('holds control characters');
  if (!shard.endsWith('.safetensors')) return bad('is not a .safetensors file');
  return shard;
}

async function checkWeights(files: CheckpointFiles, present: ReadonlySet<string>): Promise<Weights> {
  const single = present.has(SINGLE);
  const indexed = present.has(INDEX);
  if (!single && !indexed) {
    const pickled = files.names.find((n) => PICKLE.test(n));
    if (pickled !== undefined)
      fail(
        'weights',
        `${pickled}: pickled weights are never unpickled; save the checkpoint with ` +
          `save_pretrained(..., safe_serialization=True) to write ${SINGLE}`,
      );
    fail('weights', `no weights: neither ${SINGLE} nor ${INDEX} is present`);
  }
  if (single && indexed)
    fail(
      'weights',
      `both ${SINGLE} and ${INDEX} are present: which holds the weights is ambiguous; keep one`,
    );

  const mapped = new Map<string, string>();
  let weightFiles: string[];
  if (indexed) {
    const index = await readJson(files, present, INDEX, MAX_SMALL_JSON);
    if (index === undefined) fail(INDEX, `${INDEX} is missing`);
    if (!isObject(index)) fail(INDEX, `${INDEX} is not a JSON object`);
    const map = own(index, 'weight_map');
    if (!isObject(map))
      fail('weight_map', `${INDEX}: weight_map is not an object of tensor name → shard file`);
    const shards = new Set<string>();
    for (const [tensor, shard] of Object.entries(map)) {
      if (tensor === '') fail('weight_map', `${INDEX}: weight_map names a tensor with an empty name`);
      const name = checkShardName(shard, tensor);
      if (!present.has(name))
        fail(
          'weight_map',
          `${INDEX}: shard ${show(name)} (holding ${tensor}) is not in the checkpoint directory`,
        );
      mapped.set(tensor, name);
      shards.add(name);
    }
    if (shards.size === 0) fail('weight_map', `${INDEX}: weight_map names no tensors`);
    weightFiles = [...shards].sort();
  } else weightFiles = [SINGLE];

  const where = new Map<string, string>();
  const dtypes = new Set<string>();
  let params = 0;
  for (const file of weightFiles) {
    const tensors = await readHeader(files, file);
    for (const [name, t] of tensors) {
      const other = where.get(name);
      if (other !== undefined) fail(name, `tensor ${name} is stored twice (${other} and ${file})`);
      where.set(name, file);
      dtypes.add(t.dtype);
      params += t.count;
    }
  }
  for (const [tensor, shard] of mapped) {
    if (where.get(tensor) !== shard)
      fail(tensor, `${INDEX} maps ${tensor} to ${shard}, whose header has no such tensor`);
  }
  if (where.size === 0) fail('weights', `${weightFiles.join(', ')}: no tensors`);
  if (dtypes.size > 1)
    fail(
      'dtype',
      `tensors are stored in more than one dtype (${[...dtypes].sort().join(', ')}): not supported`,
    );
  const dtype = TENSOR_DTYPES.get([...dtypes][0] as string)?.[0] as CheckpointDtype;
  return { weightFiles, params, dtype };
}

/** A safetensors header: 8-byte little-endian length, then JSON; every entry checked against the file's size. */
async function readHeader(files: CheckpointFiles, file: string): Promise<Map<string, HeaderTensor>> {
  const size = await files.size(file);
  if (size === null) fail(file, `${file} is missing`);
  if (!isNatural(size) || size < 8)
    fail(file, `${file}: ${show(size)} bytes is too short for a safetensors file`);
  const prefix = await files.head(file, 8);
  if (prefix === null || prefix.byteLength < 8) fail(file, `${file}: its header length cannot be read`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES))
    fail(file, `${file}: header length ${length} is over the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerLen = Number(length);
  if (8 + headerLen > size)
    fail(file, `${file}: header length ${headerLen} runs past the end of the file (${size} bytes)`);
  const bytes = await files.head(file, 8 + headerLen);
  if (bytes === null || bytes.byteLength < 8 + headerLen) fail(file, `${file}: the header is cut short`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    fail(file, `${file}: the header is not UTF-8 JSON`);
  }
  if (!isObject(header)) fail(file, `${file}: the header is not a JSON object`);
  const dataLen = size - 8 - headerLen;
  const tensors = new Map<string, HeaderTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) fail(file, `${file}: __metadata__ is not an object`);
      continue;
    }
    if (name === '') fail(file, `${file}: a tensor has an empty name`);
    if (!isObject(entry)) fail(name, `${file}: tensor ${name} is not an object`);
    const dtype = own(entry, 'dtype');
    const info = typeof dtype === 'string' ? TENSOR_DTYPES.get(dtype) : undefined;
    if (info === undefined)
      fail(
        name,
        `${file}: tensor ${name} has dtype ${show(dtype)}, which is not supported (supported: ${[...TENSOR_DTYPES.keys()].join(', ')})`,
      );
    const shape = own(entry, 'shape');
    if (!Array.isArray(shape) || !shape.every(isNatural))
      fail(name, `${file}: tensor ${name} has shape ${show(shape)}, not a list of non-negative integers`);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (!Number.isSafeInteger(count))
      fail(name, `${file}: tensor ${name} of shape ${show(shape)} is too large`);
    const offsets = own(entry, 'data_offsets');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNatural))
      fail(name, `${file}: tensor ${name} has data_offsets ${show(offsets)}, not two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen)
      fail(
        name,
        `${file}: tensor ${name} has data_offsets [${begin}, ${end}] outside its ${dataLen} data bytes`,
      );
    if (end - begin !== count * info[1])
      fail(name, `${file}: tensor ${name} has ${end - begin} bytes for shape ${show(shape)} of ${dtype}`);
    tensors.set(name, { dtype: dtype as string, count });
    if (end > begin) spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1] as [number, number, string];
    const cur = spans[i] as [number, number, string];
    if (cur[0] < prev[1]) fail(cur[2], `${file}: tensor ${cur[2]} overlaps ${prev[2]}`);
  }
  return tensors;
}

// ---- tokenizer.json ----

/** Whether `node`, or a member of a Sequence of them (under `listKey`), satisfies `test`. */
function findIn(node: unknown, listKey: string, test: (n: Obj) => boolean, depth = 0): boolean {
  if (depth > MAX_SEQUENCE_DEPTH || !isObject(node)) return false;
  if (test(node)) return true;
  if (own(node, 'type') !== 'Sequence') return false;
  const list = own(node, listKey);
  return Array.isArray(list) && list.some((n) => findIn(n, listKey, test, depth + 1));
}

function replacesSpaceWithMeta(n: Obj): boolean {
  if (own(n, 'type') !== 'Replace' || own(n, 'content') !== '▁') return false;
  const pattern = own(n, 'pattern');
  return isObject(pattern) && (own(pattern, 'String') === ' ' || own(pattern, 'Regex') === ' ');
}

/**
 * Which kind of BPE a tokenizer.json is, or null: byte-level if a ByteLevel pre-tokenizer appears (possibly in
 * a Sequence); SentencePiece-style if the model has byte_fallback and a Metaspace pre-tokenizer or a normalizer
 * that replaces " " with "▁". TextTokenizer reads each token's bytes accordingly.
 */
export function tokenizerStyle(json: unknown): TokenizerStyle | null {
  if (!isObject(json)) return null;
  const model = own(json, 'model');
  if (!isObject(model) || own(model, 'type') !== 'BPE') return null;
  const pre = own(json, 'pre_tokenizer');
  if (findIn(pre, 'pretokenizers', (n) => own(n, 'type') === 'ByteLevel')) return 'byte-level';
  if (
    own(model, 'byte_fallback') === true &&
    (findIn(pre, 'pretokenizers', (n) => own(n, 'type') === 'Metaspace') ||
      findIn(own(json, 'normalizer'), 'normalizers', replacesSpaceWithMeta))
  )
    return 'sentencepiece';
  return null;
}

interface TokenizerFacts {
  style: TokenizerStyle;
  size: number;
  /** Token text → id, vocabulary and added tokens. */
  ids: Map<string, number>;
}

/** What TextTokenizer will need of tokenizer.json: a known style, ids without gaps, every byte reachable. */
function checkTokenizer(t: unknown): TokenizerFacts {
  const F = 'tokenizer.json';
  if (t === undefined) fail(F, `${F} is missing`);
  if (!isObject(t)) fail(F, `${F} is not a JSON object`);
  const model = own(t, 'model');
  if (!isObject(model)) fail('model', `${F}: model is not an object`);
  const type = own(model, 'type');
  if (type !== 'BPE') fail('model.type', `${F}: model.type ${show(type)} is not supported (supported: BPE)`);
  const style = tokenizerStyle(t);
  if (style === null)
    fail(
      'pre_tokenizer',
      `${F}: neither byte-level BPE (a ByteLevel pre_tokenizer) nor SentencePiece-style BPE (model.byte_fallback ` +
        `with a Metaspace pre_tokenizer or a normalizer replacing " " with "▁"): pre_tokenizer ` +
        `${show(own(t, 'pre_tokenizer'))}, normalizer ${show(own(t, 'normalizer'))}, byte_fallback ${show(own(model, 'byte_fallback'))}`,
    );
  const vocab = own(model, 'vocab');
  if (!isObject(vocab)) fail('model.vocab', `${F}: model.vocab is not an object of token → id`);
  const ids = new Map<string, number>();
  /** id → its text, as TextTokenizer assembles it: vocabulary, then added tokens over it. */
  const text = new Map<number, string>();
  for (const [token, id] of Object.entries(vocab)) {
    if (!isNatural(id)) fail('model.vocab', `${F}: model.vocab gives ${show(token)} the id ${show(id)}`);
    ids.set(token, id);
    text.set(id, token);
  }
  const added = own(t, 'added_tokens') ?? [];
  if (!Array.isArray(added)) fail('added_tokens', `${F}: added_tokens is not a list`);
  const special = new Set<number>();
  for (const a of added) {
    const id = isObject(a) ? own(a, 'id') : undefined;
    const content = isObject(a) ? own(a, 'content') : undefined;
    if (!isNatural(id) || typeof content !== 'string')
      fail('added_tokens', `${F}: added token ${show(a)} has no id and content`);
    ids.set(content, id);
    text.set(id, content);
    if (own(a as Obj, 'special') !== false) special.add(id);
  }
  if (text.size === 0) fail('model.vocab', `${F}: no tokens`);
  const sorted = [...text.keys()].sort((a, b) => a - b);
  sorted.forEach((id, i) => {
    if (id !== i) fail('model.vocab', `${F}: no token has id ${i} (ids run to ${sorted[sorted.length - 1]})`);
  });
  const size = sorted.length;
  if (style === 'byte-level') {
    const symbols = byteLevelSymbols();
    const known = new Set(symbols);
    for (const [b, s] of symbols.entries())
      if (!ids.has(s))
        fail('model.vocab', `${F}: byte-level vocabulary lacks the symbol of byte ${b} (${show(s)})`);
    for (const [id, s] of text) {
      if (special.has(id)) continue;
      for (const ch of s)
        if (!known.has(ch))
          fail('model.vocab', `${F}: token ${id} ${show(s)} is not made of byte-level symbols`);
    }
  } else {
    for (let b = 0; b < 256; b++) {
      const s = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      if (!ids.has(s))
        fail('model.vocab', `${F}: byte_fallback needs the tokens <0x00>…<0xFF>; ${s} is missing`);
    }
  }
  return { style, size, ids };
}

let symbolsCache: string[] | undefined;
/** GPT-2's bytes_to_unicode (the same table as tokenizer.ts's, kept here so this module imports nothing). */
function byteLevelSymbols(): string[] {
  if (symbolsCache) return symbolsCache;
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  symbolsCache = table;
  return table;
}

// ---- tokenizer_config.json, generation_config.json, special ids ----

/** A special token's text: a string, or an AddedToken object's content; null when absent. */
function tokenText(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof own(v, 'content') === 'string') return own(v, 'content') as string;
  return fail(field, `tokenizer_config.json: ${field} ${show(v)} is not a token`);
}

function tokenIds(v: unknown, field: string, file: string, size: number): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (!isNatural(id)) fail(field, `${file}: ${field} ${show(v)} is not a token id or a list of them`);
    if (id >= size) fail(field, `${file}: ${field} ${id} is not a token of tokenizer.json (${size} tokens)`);
  }
  return list as number[];
}

function oneId(v: unknown, file: string, size: number): number | undefined {
  if (Array.isArray(v)) fail('bos_token_id', `${file}: bos_token_id ${show(v)} is not one token id`);
  return tokenIds(v, 'bos_token_id', file, size)[0];
}

function checkChatTemplate(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (
    Array.isArray(v) &&
    v.every(
      (e) => isObject(e) && typeof own(e, 'name') === 'string' && typeof own(e, 'template') === 'string',
    )
  )
    return v.length > 0;
  return fail(
    'chat_template',
    `tokenizer_config.json: chat_template ${show(v)} is neither a string nor a list of {name, template}`,
  );
}

/** Reads and checks the checkpoint directory; refuses anything unsupported with a CheckpointError. */
export async function inspectCheckpoint(
  files: CheckpointFiles,
  opts: { servedContext: number },
): Promise<CheckpointSummary> {
  if (!isPositiveInt(opts.servedContext))
    throw new RangeError(`servedContext must be a positive integer (got ${opts.servedContext})`);
  const present = new Set(files.names);
  const config = await readJson(files, present, 'config.json', MAX_SMALL_JSON);
  const shape = checkConfig(config, opts.servedContext);
  const c = config as Obj;
  const weights = await checkWeights(files, present);

  const tok = checkTokenizer(await readJson(files, present, 'tokenizer.json', MAX_TOKENIZER_JSON));
  if (shape.vocabSize < tok.size)
    fail('vocab_size', `vocab_size ${shape.vocabSize} is smaller than the tokenizer's ${tok.size} tokens`);

  const TC = 'tokenizer_config.json';
  const tc = await readJson(files, present, TC, MAX_SMALL_JSON);
  if (tc === undefined) fail(TC, `${TC} is missing`);
  if (!isObject(tc)) fail(TC, `${TC} is not a JSON object`);
  const hasChatTemplate =
    checkChatTemplate(own(tc, 'chat_template')) ||
    present.has('chat_template.jinja') ||
    present.has('chat_template.json');
  // TextTokenizer resolves these by name: eos_token (else <|endoftext|>), bos_token (else the eos token).
  const eosName = tokenText(own(tc, 'eos_token'), 'eos_token') ?? '<|endoftext|>';
  const eosId = tok.ids.get(eosName);
  if (eosId === undefined)
    fail('eos_token', `${TC}: eos_token ${show(own(tc, 'eos_token'))} is not a token of tokenizer.json`);
  const bosName = tokenText(own(tc, 'bos_token'), 'bos_token');
  const bosById = bosName === null ? undefined : tok.ids.get(bosName);
  if (bosName !== null && bosById === undefined)
    fail('bos_token', `${TC}: bos_token ${show(bosName)} is not a token of tokenizer.json`);

  const GC = 'generation_config.json';
  const gen = await readJson(files, present, GC, MAX_SMALL_JSON);
  if (gen !== undefined && !isObject(gen)) fail(GC, `${GC} is not a JSON object`);
  const g: Obj = isObject(gen) ? gen : {};

  const eosTokenIds = [
    ...new Set([
      ...tokenIds(own(c, 'eos_token_id'), 'eos_token_id', 'config.json', tok.size),
      ...tokenIds(own(g, 'eos_token_id'), 'eos_token_id', GC, tok.size),
    ]),
  ];
  if (eosTokenIds.length === 0) eosTokenIds.push(eosId);
  const bosTokenId =
    oneId(own(c, 'bos_token_id'), 'config.json', tok.size) ??
    oneId(own(g, 'bos_token_id'), GC, tok.size) ??
    bosById ??
    null;
  const addBosToken = own(tc, 'add_bos_token');
  const addBos =
    typeof addBosToken === 'boolean' ? addBosToken : shape.family !== 'qwen2' && bosTokenId !== null;
  if (addBos && bosTokenId === null)
    fail('add_bos_token', `${TC}: add_bos_token is true but no bos token id is given`);

  return {
    family: shape.family,
    architecture: shape.architecture,
    dtype: weights.dtype,
    params: weights.params,
    weightFiles: weights.weightFiles,
    tokenizer: tok.style,
    vocabSize: shape.vocabSize,
    tokenizerSize: tok.size,
    context: shape.context,
    hasChatTemplate,
    addBos,
    bosTokenId,
    eosTokenIds,
  };
}
