// A base model package read from storage (`models/<name>/`: config.json, tokenizer.json,
// tokenizer_config.json, model.onnx). The ONNX session is the expensive part, so packages are loaded once
// per process and shared: a module-level cache keyed by (store, prefix); a failed load is not kept.

import { type BaseModelConfig, type DecoderShape, decoderShapeFromConfig } from '../core/model/config.js';
import { TextTokenizer, type TokenizerConfig, type TokenizerJson } from '../core/model/tokenizer.js';
import type { BlobStore } from '../core/storage/store.js';
import { Decoder, type DecoderLike } from './decoder.js';

/** What a base model is, without its weights: enough to count tokens and check adapters' shapes. */
export interface ModelInfo {
  /** The storage prefix it was read from, e.g. `models/brown-4m/`. */
  id: string;
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

export class ModelPackageError extends Error {
  override name = 'ModelPackageError';
}

const packages = new WeakMap<BlobStore, Map<string, Promise<ModelPackage>>>();

/** The package under `prefix` (a trailing `/` is added), loaded at most once per process and store. */
export function loadModelPackage(store: BlobStore, prefix: string): Promise<ModelPackage> {
  const id = prefix.endsWith('/') ? prefix : `${prefix}/`;
  let byPrefix = packages.get(store);
  if (!byPrefix) {
    byPrefix = new Map();
    packages.set(store, byPrefix);
  }
  const cached = byPrefix.get(id);
  if (cached) return cached;
  const loading = readPackage(store, id);
  byPrefix.set(id, loading);
  loading.catch(() => byPrefix.delete(id));
  return loading;
}

/** config.json and the tokenizer of the package under `prefix`, without creating an ONNX session. */
export async function loadModelInfo(store: BlobStore, prefix: string): Promise<ModelInfo> {
  const id = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const { config, tokenizer } = await readInfoFiles(store, id);
  return {
    id,
    config,
    tokenizer,
    shape: decoderShapeFromConfig(config),
    contextLength: config.max_position_embeddings,
  };
}

async function readInfoFiles(
  store: BlobStore,
  id: string,
): Promise<{ config: BaseModelConfig; tokenizer: TextTokenizer }> {
  const need = async (name: string) => {
    const bytes = await store.get(`${id}${name}`);
    if (!bytes) throw new ModelPackageError(`model package ${id}: ${name} is missing`);
    return bytes;
  };
  const json = async (name: string) => {
    try {
      return JSON.parse(new TextDecoder().decode(await need(name))) as unknown;
    } catch (e) {
      if (e instanceof ModelPackageError) throw e;
      throw new ModelPackageError(`model package ${id}: ${name} is not JSON`);
    }
  };
  const [config, tokenizerJson, tokenizerConfig] = await Promise.all([
    json('config.json'),
    json('tokenizer.json'),
    store.get(`${id}tokenizer_config.json`).then((b) => (b ? JSON.parse(new TextDecoder().decode(b)) : {})),
  ]);
  return {
    config: checkConfig(config, id),
    tokenizer: new TextTokenizer(tokenizerJson as TokenizerJson, tokenizerConfig as TokenizerConfig),
  };
}

async function readPackage(store: BlobStore, id: string): Promise<ModelPackage> {
  const [{ config, tokenizer }, onnx] = await Promise.all([
    readInfoFiles(store, id),
    store.get(`${id}model.onnx`).then((b) => {
      if (!b) throw new ModelPackageError(`model package ${id}: model.onnx is missing`);
      return b;
    }),
  ]);
  const decoder = await Decoder.create(onnx, decoderShapeFromConfig(config));
  const graph = async () => {
    const b = await store.get(`${id}model.onnx`);
    if (!b) throw new ModelPackageError(`model package ${id}: model.onnx is missing`);
    return b;
  };
  return { ...modelPackageFromParts({ id, config, tokenizer, decoder }), graph };
}

/** Assembles a package from parts already in hand (tests use it with a scripted decoder). */
export function modelPackageFromParts(parts: {
  id: string;
  config: BaseModelConfig;
  tokenizer: TextTokenizer;
  decoder: DecoderLike;
}): ModelPackage {
  const { config, tokenizer, decoder } = parts;
  if (tokenizer.vocabSize > config.vocab_size)
    throw new ModelPackageError(
      `tokenizer has ${tokenizer.vocabSize} tokens, the model ${config.vocab_size}`,
    );
  return { ...parts, shape: decoder.shape, contextLength: config.max_position_embeddings };
}

function checkConfig(raw: unknown, id: string): BaseModelConfig {
  const fail = (msg: string): never => {
    throw new ModelPackageError(`model package ${id}: config.json ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('is not an object');
  const c = raw as Record<string, unknown>;
  if (c.model_type !== 'llama') fail(`model_type is ${String(c.model_type)}, not llama`);
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
