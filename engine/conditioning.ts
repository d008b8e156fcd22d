// What a request's adapters do to the decoder: LoRA pairs on the projections and/or a prefix of keys and
// values in front of the KV cache. Any mix composes exactly: LoRAs by rank concatenation (each scaled by its
// weight), prefixes one after another, and a prefix does not pass through the projections a LoRA changes.
import type { DecoderShape } from '../core/model/config.js';
import {
  type AdapterFiles,
  type AdapterLimits,
  composeLora,
  type LoraAdapter,
  parseAdapter,
  readAdapterConfig,
} from './adapter.js';
import type { LoraInputs } from './decoder.js';
import { AdapterError } from './errors.js';
import { concatPrefixes, maxPrefixTokens, type PrefixAdapter, parsePrefixAdapter } from './prefix.js';

export type Adapter = LoraAdapter | PrefixAdapter;

/** The decoder inputs of a set of adapters. */
export interface Conditioning {
  lora?: LoraInputs;
  prefix?: PrefixAdapter;
  /** Bytes of tensor data held (shared arrays counted too: an upper bound). */
  bytes: number;
}

const SERVED = ['LORA', 'PREFIX_TUNING'];

/** Reads an adapter of any served PEFT method (AdapterError when it is refused). */
export function readAdapter(
  files: AdapterFiles,
  shape: DecoderShape,
  limits: AdapterLimits,
  contextLength: number,
): Adapter {
  const type = readAdapterConfig(files.config, limits).peft_type;
  if (type === 'PREFIX_TUNING') return parsePrefixAdapter(files, shape, limits, contextLength);
  if (type !== 'LORA')
    throw new AdapterError(
      `adapter_config.json: peft_type is ${JSON.stringify(type)}; served: ${SERVED.map((t) => `"${t}"`).join(', ')}`,
    );
  return parseAdapter(files, shape, limits);
}

const alone = new WeakMap<Adapter, Conditioning>();

/** One adapter at weight 1 (the same object every time for the same adapter). */
export function conditioningOf(adapter: Adapter): Conditioning {
  let c = alone.get(adapter);
  if (!c) {
    c =
      adapter.kind === 'prefix'
        ? { prefix: adapter, bytes: adapter.bytes }
        : { lora: adapter.inputs, bytes: adapter.bytes };
    alone.set(adapter, c);
  }
  return c;
}

/**
 * Several adapters with weights. A LoRA's weight scales its update (0 drops it); a prefix is a set of
 * positions, not an update: it applies at weight 1 or is dropped at 0, and any other weight is refused.
 */
export function compose(
  shape: DecoderShape,
  parts: readonly { adapter: Adapter; weight: number }[],
  limits: Pick<AdapterLimits, 'maxPrefixTokens'>,
  contextLength: number,
): Conditioning {
  const loras: { adapter: LoraAdapter; weight: number }[] = [];
  const prefixes: PrefixAdapter[] = [];
  for (const { adapter, weight } of parts) {
    if (!Number.isFinite(weight)) throw new AdapterError(`adapter weight ${weight} is not finite`);
    if (adapter.kind === 'lora') loras.push({ adapter, weight });
    else if (weight === 1) prefixes.push(adapter);
    else if (weight !== 0)
      throw new AdapterError(`a prefix adapter applies at weight 1 (or 0 to leave it out), not ${weight}`);
  }
  const lora = loras.length > 0 ? composeLora(shape, loras) : undefined;
  const prefix = prefixes.length > 0 ? concatPrefixes(shape, prefixes) : undefined;
  const max = maxPrefixTokens(contextLength, limits);
  if (prefix && prefix.length > max)
    throw new AdapterError(`the prefixes take ${prefix.length} positions together; at most ${max} fit`);
  return {
    ...(lora ? { lora: lora.inputs } : {}),
    ...(prefix ? { prefix } : {}),
    bytes: (lora?.bytes ?? 0) + (prefix?.bytes ?? 0),
  };
}
