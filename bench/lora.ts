// 3. What LoRA inputs cost: the shipped LoRA graph fed a rank-8 adapter on every target, and the same graph
// fed rank-0 pairs (no adapter), each vs the base-only graph (no LoRA inputs at all), same engine, greedy,
// interleaved. The adapter is resolved from the engine's cache (a hit) on every run, as when serving. The
// rank-0 pair is also run on onnxruntime-node, to tell the graph's own cost from the wasm binding's. A 16-token
// prefix (prefix tuning) runs 16 more past positions. As served (lanes.ts), a request without a LoRA (a prefix
// alone included) runs the graph without LoRA inputs derived from the shipped one, and a hot user's adapter can
// be merged into a session of its own (TAILOR_MERGE_HOT): both are measured against the same base-only graph.
import { Engine } from '../engine/index.js';
import { randomAdapter, randomPrefix } from '../engine/testing.js';
import { ALL_TARGETS } from '../schema/training.js';
import { interleave, type Measured, median, round, speedup } from './harness.js';
import {
  ADAPTERS,
  type BenchContext,
  baseOnlyDecoder,
  engineWith,
  generate,
  nativeDecoder,
  promptWithoutEos,
  rankAdapter,
} from './setup.js';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const n = ctx.quick ? 16 : 128;
  const rounds = ctx.quick ? 2 : 30;
  const lora = new Engine(ctx.pkg, { loader: ADAPTERS, baseOnlyGraph: false }); // every request on the LoRA graph
  const served = new Engine(ctx.pkg, { loader: ADAPTERS }); // as `npm start` serves: lanes
  const merging = new Engine(ctx.pkg, { loader: ADAPTERS, mergeHot: 1 });
  await Promise.all([served.ready, merging.ready]);
  const base = engineWith(ctx.pkg, await baseOnlyDecoder(ctx.pkg), 'bench/base-only/');
  const files = rankAdapter(ctx.pkg, 7, 8);
  const adapter = [ADAPTERS.ref('bench/rank8', files)];
  // The PEFT table's other shapes (bench/peft.ts): ranks 2 and 16 on every target, rank 8 on attention only.
  const shaped = (key: string, r: number, targets?: string[]) => {
    const f = randomAdapter(ctx.pkg.shape, {
      r,
      alpha: 2 * r,
      targets: targets ?? [...ALL_TARGETS],
      seed: 7,
      scale: 0.05,
    });
    return [ADAPTERS.ref(key, f)];
  };
  const rank2 = shaped('bench/rank2', 2);
  const rank16 = shaped('bench/rank16', 16);
  const attention = shaped('bench/rank8-attention', 8, ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
  // Prefix tuning's default: 16 virtual tokens, fed as past positions through the same graph (rank-0 pairs).
  const prefixFiles = randomPrefix(ctx.pkg.shape, { tokens: 16, seed: 7 }).files;
  const prefix16 = [ADAPTERS.ref('bench/prefix16', prefixFiles)];
  // An adapter changes the text, and so where EOS might come: the prompt must run n tokens on every side.
  const { prompt } = await promptWithoutEos(n, [
    [base],
    [lora, adapter],
    [lora],
    [lora, rank2],
    [lora, rank16],
    [lora, attention],
    [lora, prefix16],
  ]);

  // The hot user: served until its adapter is merged into a session of its own.
  for (let i = 0; i < 40 && merging.metrics().lanes.merged === 0; i++) {
    await generate(merging, prompt, 32, adapter);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (merging.metrics().lanes.merged !== 1) throw new Error('the hot adapter was not merged');

  const side = (name: string, engine: Engine, adapters?: typeof adapter) => ({
    name,
    run: async () => (await generate(engine, prompt, n, adapters)).timings.totalMs,
  });
  // The same pair on onnxruntime-node: is the LoRA graph's cost the graph's, or the wasm binding's?
  const nativeBase = engineWith(ctx.pkg, await nativeDecoder(ctx.pkg, 'base-only'), 'bench/native-base/');
  const nativeLora = engineWith(ctx.pkg, await nativeDecoder(ctx.pkg), 'bench/native/');
  const s = await interleave(
    [
      side('base', base),
      side('rank8', lora, adapter),
      side('rank0', lora),
      side('rank2', lora, rank2),
      side('rank16', lora, rank16),
      side('rank8-attention', lora, attention),
      side('prefix16', lora, prefix16),
      side('served-none', served),
      side('served-prefix16', served, prefix16),
      side('merged-rank8', merging, adapter),
      side('native-base', nativeBase),
      side('native-rank0', nativeLora),
    ],
    rounds,
  );
  const tps = (k: string) => (n * 1000) / median(s[k] as number[]);
  const vs = 'the base-only graph (no LoRA inputs), same engine';
  return [
    {
      id: 'decode_tokens_per_s_lora_rank8_all_targets',
      value: round(tps('rank8'), 1),
      unit: 'tokens/s',
      vs,
      ratio: round(speedup(s.rank8 as number[], s.base as number[])),
      goal: '≥ 0.9×',
    },
    {
      id: 'decode_tokens_per_s_lora_graph_rank0',
      value: round(tps('rank0'), 1),
      unit: 'tokens/s',
      vs,
      ratio: round(speedup(s.rank0 as number[], s.base as number[])),
    },
    ...(
      [
        ['rank2', 'decode_tokens_per_s_lora_rank2_all_targets'],
        ['rank16', 'decode_tokens_per_s_lora_rank16_all_targets'],
        ['rank8-attention', 'decode_tokens_per_s_lora_rank8_attention_only'],
        ['prefix16', 'decode_tokens_per_s_prefix16_lora_graph'],
        ['served-prefix16', 'decode_tokens_per_s_prefix16_as_served_base_only_lane'],
        ['served-none', 'decode_tokens_per_s_no_adapter_as_served_base_only_lane'],
      ] as const
    ).map(([k, id]) => ({
      id,
      value: round(tps(k), 1),
      unit: 'tokens/s',
      vs,
      ratio: round(speedup(s[k] as number[], s.base as number[])),
    })),
    {
      id: 'decode_tokens_per_s_lora_rank8_merged_hot_user',
      value: round(tps('merged-rank8'), 1),
      unit: 'tokens/s',
      vs,
      ratio: round(speedup(s['merged-rank8'] as number[], s.base as number[])),
      goal: '≥ 0.9×',
    },
    { id: 'decode_tokens_per_s_base_only_graph', value: round(tps('base'), 1), unit: 'tokens/s' },
    {
      id: 'decode_tokens_per_s_lora_graph_rank0_onnxruntime_node',
      value: round(tps('native-rank0'), 1),
      unit: 'tokens/s',
      vs: 'the base-only graph on onnxruntime-node (native, 1 thread), same engine',
      ratio: round(speedup(s['native-rank0'] as number[], s['native-base'] as number[])),
    },
  ];
}
