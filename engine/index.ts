// The engine's public face: everything outside engine/ imports it from here (test helpers: testing.ts).
// Inside engine/, files import the file that defines a thing, never this one.

export type { AdapterFiles, AdapterLimits } from './adapter.js';
export { parseAdapter } from './adapter.js';
export {
  Decoder,
  type DecoderLike,
  type LoraInputs,
  type SessionFactory,
  setSessionFactory,
} from './decoder.js';
export { type BaseSpec, Engine, type EngineOptions, type ServingOptions, servingOptions } from './engine.js';
export {
  AdapterError,
  ENGINE_ERROR_CODES,
  EngineError,
  type EngineErrorCode,
  type EngineErrorData,
  EngineUnavailableError,
  engineErrorFrom,
  engineErrorOf,
  InputTooLongError,
  ModelPackageError,
} from './errors.js';
export {
  type Emit,
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  Generation,
  type TextPiece,
} from './generate.js';
export type {
  EngineGenerateOptions,
  EngineScoreOptions,
  InferenceEngine,
  RemoteOptions,
} from './inference.js';
export { type AdapterLoader, type BaseIdentity, StoreAdapterLoader } from './loader.js';
export type { TokenLogprob } from './logprobs.js';
export { type EngineMetrics, sumEngineMetrics } from './metrics.js';
export {
  loadModelInfo,
  loadModelPackage,
  type ModelInfo,
  type ModelPackage,
  modelPackageFromParts,
} from './model-package.js';
export { type AdapterKind, type AdapterRef, adapterSetKey } from './refs.js';
export { parseSafetensors } from './safetensors.js';
export type { ScoreResult } from './score.js';
export type { TextInput } from './text-input.js';
