// A base model package read from storage (`models/<name>/`: config.json, tokenizer.json,
// tokenizer_config.json, model.onnx, and the publisher's marker tailor-package.json when there is one: the hash
// of the weights adapters must name). The ONNX session is the expensive part, so packages are loaded once per
// process and shared: a module-level cache keyed by (store, prefix); a failed load is not kept.

import { type BaseModelConfig, type DecoderShape, decoderShapeFromConfig } from '../core/model/config.js';
import type { ModelMarker } from '../core/model/package-files.js';
import { TextTokenizer, type TokenizerConfig, type TokenizerJson } from '../core/model/tokenizer.js';
import type { BlobStore } from '../core/storage/store.js';
import { Decoder, type DecoderLike } from './decoder.js';
import { ModelPackageError } from './errors.js';

/** What a base model is, without its weights: enough to count tokens and check adapters' shapes. */
export interface ModelInfo {
  /** The base model's id, e.g. `brown-4m`: what requests and adapter references name. */
  id: string;
  /** The storage prefix it was read from, e.g. `models/brown-4m/`. */
  prefix: string;
  /** SHA-256 of its weights (model.safetensors), which adapter manifests name; undefined when not recorded. */
  hash?: string;
  config: BaseModelConfig;
  tokenizer: TextTokenizer;
  shape: DecoderShape;
  /** Most positions a sequence may use (BOS included). */
  contextLength: number;
}

/** A model ready to run: its info and its ONNX decoder. */
export interface ModelPackage extends ModelInfo {
  decoder: DecoderLike;
  /** Reads the decoder graph's bytes again (not kept in memory), for graphs derived from it (onnx-graph.ts). */
  graph?: () => Promise<Uint8Array>;
}

/**
 * The publisher's marker (core/model/package-files.ts MODEL_MARKER), named here rather than imported: that file
 * brings zod, which the SDK's on-device bundle of the engine must not carry.
 */
const MODEL_MARKER = 'tailor-package.json';

const packages = new WeakMap<BlobStore, Map<string, Promise<ModelPackage>>>();

const withSlash = (prefix: string) => (prefix.endsWith('/') ? prefix : `${prefix}/`);

/**
 * The most positions a sequence may use: an imported base records what the platform serves of it
 * (`tailor.served_context`, TAILOR_SERVED_CONTEXT or its own maximum when smaller); the shipped base, its own.
 */
export function servedContext(config: BaseModelConfig): number {
  const served = config.tailor.served_context;
  return typeof served === 'number' && served > 0
    ? Math.min(served, config.max_position_embeddings)
    : config.max_position_embeddings;
}

/** A base model's id by its package's prefix: its last folder (`models/brown-4m/` → `brown-4m`). */
export const baseIdOf = (prefix: string): string => withSlash(prefix).split('/').at(-2) ?? prefix;

/** The package under `prefix` (a trailing `/` is added), loaded at most once per process and store. */
export function loadModelPackage(store: BlobStore, prefix: string): Promise<ModelPackage> {
  const at = withSlash(prefix);
  let byPrefix = packages.get(store);
  if (!byPrefix) {
    byPrefix = new Map();
    packages.set(store, byPrefix);
  }
  const cached = byPrefix.get(at);
  if (cached) return cached;
  const loading = readPackage(store, at);
  byPrefix.set(at, loading);
  loading.catch(() => byPrefix.delete(at));
  return loading;
}

/** config.json and the tokenizer of the package under `prefix`, without creating an ONNX session. */
export async function loadModelInfo(store: BlobStore, prefix: string): Promise<ModelInfo> {
  const at = withSlash(prefix);
  const { config, tokenizer, hash } = await readInfoFiles(store, at);
  return {
    id: baseIdOf(at),
    prefix: at,
    ...(hash ? { hash } : {}),
    config,
    tokenizer,
    shape: decoderShapeFromConfig(config),
    contextLength: servedContext(config),
  };
}

async function readInfoFiles(
  store: BlobStore,
  at: string,
): Promise<{ config: BaseModelConfig; tokenizer: TextTokenizer; hash: string | undefined }> {
  const need = async (name: string) => {
    const bytes = await store.get(`${at}${name}`);
    if (!bytes) throw new ModelPackageError(`model package ${at}: ${name} is missing`);
    return bytes;
  };
  const json = async (name: string) => {
    try {
      return JSON.parse(new TextDecoder().decode(await need(name))) as unknown;
    } catch (e) {
      if (e instanceof ModelPackageError) throw e;
      throw new ModelPackageError(`model package ${at}: ${name} is not JSON`);
    }
  };
  const [config, tokenizerJson, tokenizerConfig, marker] = await Promise.all([
    json('config.json'),
    json('tokenizer.json'),
    store.get(`${at}tokenizer_config.json`).then((b) => (b ? JSON.parse(new TextDecoder().decode(b)) : {})),
    store.get(`${at}${MODEL_MARKER}`).then((b) => (b ? json(MODEL_MARKER) : null)),
  ]);
  return {
    config: checkConfig(config, at),
    tokenizer: new TextTokenizer(tokenizerJson as TokenizerJson, tokenizerConfig as TokenizerConfig),
    hash: weightsHashOf(marker, at),
  };
}

/** The weights' hash the publisher recorded in the package's marker (none: a package put there by hand). */
function weightsHashOf(marker: unknown, at: string): string | undefined {
  if (marker === null) return undefined;
  const hash = (marker as Partial<ModelMarker> | undefined)?.hash;
  if (typeof hash !== 'string' || hash.length === 0)
    throw new ModelPackageError(`model package ${at}: ${MODEL_MARKER} names no weights hash`);
  return hash;
}

async function readPackage(store: BlobStore, at: string): Promise<ModelPackage> {
  const [{ config, tokenizer, hash }, onnx] = await Promise.all([
    readInfoFiles(store, at),
    store.get(`${at}model.onnx`).then((b) => {
      if (!b) throw new ModelPackageError(`model package ${at}: model.onnx is missing`);
      return b;
    }),
  ]);
  const decoder = await Decoder.create(onnx, decoderShapeFromConfig(config));
  const graph = async () => {
    const b = await store.get(`${at}model.onnx`);
    if (!b) throw new ModelPackageError(`model package ${at}: model.onnx is missing`);
    return b;
  };
  const parts = { id: baseIdOf(at), prefix: at, ...(hash ? { hash } : {}), config, tokenizer, decoder };
  return { ...modelPackageFromParts(parts), graph };
}

/** Assembles a package from parts already in hand (tests use it with a scripted decoder). */
export function modelPackageFromParts(parts: {
  id: string;
  prefix?: string;
  hash?: string;
  config: BaseModelConfig;
  tokenizer: TextTokenizer;
  decoder: DecoderLike;
}): ModelPackage {
  const { config, tokenizer, decoder } = parts;
  if (tokenizer.vocabSize > config.vocab_size)
    throw new ModelPackageError(
      `tokenizer has ${tokenizer.vocabSize} tokens, the model ${config.vocab_size}`,
    );
  return {
    ...parts,
    prefix: parts.prefix ?? `models/${parts.id}/`,
    shape: decoder.shape,
    contextLength: servedContext(config),
  };
}

function checkConfig(raw: unknown, id: string): BaseModelConfig {
  const fail = (msg: string): never => {
    throw new ModelPackageError(`model package ${id}: config.json ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('is not an object');
  const c = raw as Record<string, unknown>;
  if (!['llama', 'mistral', 'qwen2'].includes(String(c.model_type)))
    fail(`model_type is ${String(c.model_type)}, not llama, mistral or qwen2`);
  for (const k of [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'max_position_embeddings',
  ]) {
    if (!Number.isSafeInteger(c[k]) || (c[k] as number) <= 0) fail(`${k} is not a positive integer`);
  }
  const t = c.tailor as Record<string, unknown> | undefined;
  if (!t || !Array.isArray(t.lora_targets) || !t.lora_targets.every((x) => typeof x === 'string'))
    fail('tailor.lora_targets is not a list of module names');
  if (!Number.isSafeInteger(t?.max_lora_rank) || (t?.max_lora_rank as number) <= 0)
    fail('tailor.max_lora_rank is not a positive integer');
  return c as BaseModelConfig;
}
