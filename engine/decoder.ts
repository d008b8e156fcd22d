// The decoder graph on onnxruntime-web: one session per base model, fed token ids, the KV cache and a LoRA
// pair for every target (rank 0 where no adapter applies: the graph lists every pair as a required input).
import * as ort from 'onnxruntime-web';
import type { DecoderShape } from '../core/model/config.js';

/** One tensor pair per LoRA target, keyed by graph input name, with the scaling already in B. */
export type LoraInputs = Record<string, ort.Tensor>;

/** Per layer, the cached keys and values: [B, K, P, D] each. */
export type KVCache = { key: ort.Tensor; value: ort.Tensor }[];

export interface DecoderStep {
  /** [B][T] token ids of the new positions. */
  ids: number[][];
  /** Position of the first new token (= tokens already cached). Default: the past's length. */
  start?: number;
  /** Position of the first new token of each row, when rows differ (a batch of left-padded rows). */
  positions?: number[];
  past?: KVCache;
  lora?: LoraInputs;
  /** [B][P+T] 1 = real token, 0 = padding. Default: all ones. */
  attentionMask?: number[][];
  /**
   * Only the last position's logits are wanted (a prefill for generation). A graph with a `logits_keep` input
   * (imported bases) then projects that position alone; others return every position as ever.
   */
  lastOnly?: boolean;
}

export interface DecoderOutput {
  /** [B, T, V] row-major; [B, 1, V] when `lastOnly` was asked of a graph that takes `logits_keep`. */
  logits: Float32Array;
  present: KVCache;
}

/** What generation and scoring need from a decoder (tests plug in a scripted one). */
export interface DecoderLike {
  readonly shape: DecoderShape;
  /** Tokens per prefill run, when the decoder needs its own (a scripted one: a prefill is one run). */
  readonly prefillChunk?: number;
  run(step: DecoderStep): Promise<DecoderOutput>;
}

/**
 * Every run on onnxruntime-web goes through one queue, whatever the session: concurrent callers interleave run
 * by run, in arrival order. One wasm instance serves every session, and two runs at once (even on two
 * sessions) corrupt its memory ("memory access out of bounds").
 */
let runQueue: Promise<unknown> = Promise.resolve();

let configured = false;
function configureOrt(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1; // one thread per isolate: the edge gives us no more, and Node matches it
  ort.env.logLevel = 'error';
}

/** Makes a session of a graph's bytes on another runtime than onnxruntime-web (Node's native one). */
export type SessionFactory = (modelBytes: Uint8Array) => Promise<ort.InferenceSession>;

let sessionFactory: SessionFactory | null = null;

/**
 * Every session this process (or thread) creates from now on comes from `factory`: the native lane on Node
 * (runtime/node/native-runtime.ts); null, onnxruntime-web (wasm, one thread), the default everywhere and the
 * only runtime of Workers and devices.
 */
export function setSessionFactory(factory: SessionFactory | null): void {
  sessionFactory = factory;
}

export class Decoder implements DecoderLike {
  private readonly noLora: LoraInputs;
  /** The graph takes `logits_keep` (every listed input must be fed). */
  private readonly keepsLogits: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.noLora = Decoder.emptyLora(shape);
    this.keepsLogits = session.inputNames.includes('logits_keep');
    const expected = new Set(Object.keys(this.noLora));
    const listed = session.inputNames.filter((n) => n.includes('.lora_'));
    if (listed.length !== expected.size || !listed.every((n) => expected.has(n))) {
      throw new Error(
        `model graph's LoRA inputs (${listed.length}) do not match the config (${expected.size})`,
      );
    }
  }

  static async create(modelBytes: Uint8Array, shape: DecoderShape): Promise<Decoder> {
    if (sessionFactory) return new Decoder(await sessionFactory(modelBytes), shape);
    configureOrt();
    const session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return new Decoder(session, shape);
  }

  /**
   * A decoder over a session created elsewhere, e.g. on onnxruntime-node (the benchmarks run the same loop
   * on the native runtime). The session must take the same inputs as `create`'s.
   */
  static fromSession(session: ort.InferenceSession, shape: DecoderShape): Decoder {
    return new Decoder(session, shape);
  }

  /** Rank-0 pairs for every target: "no adapter". */
  static emptyLora(shape: DecoderShape): LoraInputs {
    const out: LoraInputs = {};
    shape.loraModules.forEach((m, j) => {
      const [fin, fout] = shape.loraShapes[j] as [number, number];
      out[`${m}.lora_A.weight`] = new ort.Tensor('float32', new Float32Array(0), [1, 0, fin]);
      out[`${m}.lora_B.weight`] = new ort.Tensor('float32', new Float32Array(0), [1, fout, 0]);
    });
    return out;
  }

  emptyCache(batch: number): KVCache {
    const { nLayers, nKvHeads, headDim } = this.shape;
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [batch, nKvHeads, 0, headDim]);
    return Array.from({ length: nLayers }, () => ({ key: empty(), value: empty() }));
  }

  async run(step: DecoderStep): Promise<DecoderOutput> {
    const b = step.ids.length;
    const t = step.ids[0]?.length ?? 0;
    if (b === 0 || t === 0 || step.ids.some((row) => row.length !== t))
      throw new Error('ids must be a non-empty [B][T]');
    const past = step.past ?? this.emptyCache(b);
    const p = past[0]?.key.dims[2] ?? 0;
    const start = step.start ?? p;
    const ids = BigInt64Array.from(step.ids.flat(), (x) => BigInt(x));
    const positions = new BigInt64Array(b * t);
    for (let r = 0; r < b; r++) {
      const first = step.positions?.[r] ?? start;
      for (let i = 0; i < t; i++) positions[r * t + i] = BigInt(first + i);
    }
    const mask = step.attentionMask
      ? BigInt64Array.from(step.attentionMask.flat(), (x) => BigInt(x))
      : new BigInt64Array(b * (p + t)).fill(1n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [b, t]),
      attention_mask: new ort.Tensor('int64', mask, [b, p + t]),
      position_ids: new ort.Tensor('int64', positions, [b, t]),
      ...this.noLora,
      ...step.lora,
    };
    past.forEach((kv, i) => {
      feeds[`past_key_values.${i}.key`] = kv.key;
      feeds[`past_key_values.${i}.value`] = kv.value;
    });
    if (this.keepsLogits)
      feeds.logits_keep = new ort.Tensor('int64', BigInt64Array.of(step.lastOnly ? 1n : 0n), [1]);
    const out = await this.serialized(() => this.session.run(feeds));
    const logits = out.logits as ort.Tensor;
    const present: KVCache = past.map((_, i) => ({
      key: out[`present.${i}.key`] as ort.Tensor,
      value: out[`present.${i}.value`] as ort.Tensor,
    }));
    return { logits: logits.data as Float32Array, present };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = runQueue.then(fn, fn);
    runQueue = result.catch(() => {});
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
