// 7. The physical ceiling of batch-1 decoding on this machine, and where the engine stands against it.
// A decode step reads every weight once (~16 MB fp32) and does ~2 FLOPs per weight, so it is bounded by the
// rate weights stream into the matrix kernels or by their arithmetic rate — unless fixed per-run and per-node
// costs dominate, as they may for a 4M-parameter model. Measured here: cache sizes and memcpy bandwidth (Node),
// onnxruntime-web's own kernels on hand-written ONNX graphs (MatMul FLOP/s; GEMV weight-streaming GB/s from
// L2, L3 and DRAM; the fixed cost of a run and of each extra node), the graphs' node counts, the model's
// prefill rate, and the decode step itself (base-only graph; LoRA graph with rank 0 and rank 8).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ort from 'onnxruntime-web';
import { type Decoder, Engine, type LoraInputs, parseSafetensors } from '../engine/index.js';
import { interleave, type Measured, median, round, type Side, timeMs } from './harness.js';
import { countNodes, type TinyGraph, tinyModel } from './onnx-proto.js';
import {
  ADAPTERS,
  BASE,
  type BenchContext,
  baseOnlyDecoder,
  ensureBaseOnlyExport,
  MODEL_DIR,
  NODE_ONE_THREAD,
  rankAdapter,
  TMP,
} from './setup.js';

/** Median ms of `fn` over `reps` runs after one warm-up. */
async function medianMs(reps: number, fn: () => unknown): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/** Cache sizes in KiB by level (L1d, L2, L3), from sysfs; the L3 may be shared by several cores. */
function cacheSizes(): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < 8; i++) {
    try {
      const dir = `/sys/devices/system/cpu/cpu0/cache/index${i}`;
      const level = readFileSync(`${dir}/level`, 'utf8').trim();
      const type = readFileSync(`${dir}/type`, 'utf8').trim();
      if (type === 'Instruction') continue;
      out[`l${level}`] = Number.parseInt(readFileSync(`${dir}/size`, 'utf8'), 10);
    } catch {
      break;
    }
  }
  return out;
}

/** GB/s of memcpy (bytes read + written) over `mb` MiB each way: TypedArray.set is a native memmove. */
function copyBandwidth(mb: number, reps: number): number {
  const n = (mb * 2 ** 20) / 4;
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  const xs: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    dst.set(src);
    if (r > 0) xs.push(performance.now() - t0);
  }
  return (2 * n * 4) / (median(xs) * 1e6);
}

async function session(g: TinyGraph): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(tinyModel(g), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
}

/** The same graph on onnxruntime-node (native, one thread): what the wasm build's kernels give up. */
async function nativeSession(g: TinyGraph): Promise<ort.InferenceSession> {
  return (await ortNode.InferenceSession.create(
    tinyModel(g),
    NODE_ONE_THREAD,
  )) as unknown as ort.InferenceSession;
}

const randn = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.1);

/** ms per session.run of a graph, fed float tensors of the given shapes. */
async function runMs(
  s: ort.InferenceSession,
  shapes: Record<string, number[]>,
  reps: number,
): Promise<number> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, dims] of Object.entries(shapes))
    feeds[name] = new ort.Tensor('float32', randn(dims.reduce((a, b) => a * b, 1)), dims);
  return medianMs(reps, () => s.run(feeds));
}

/**
 * The decode step on its own: ms per single-token decoder.run after a prompt of `past` positions, for each
 * (decoder, LoRA inputs) case. The cases alternate in blocks of `block` steps, as during a generation: two
 * sessions hold two copies of the weights, more than the L3 holds together, so alternating step by step
 * would measure weights fetched from DRAM every step. Each block's first step (its weights coming back
 * into the cache) is left out.
 */
async function decodeStepMs(
  cases: readonly { decoder: Decoder; lora?: LoraInputs }[],
  past: number,
  blocks: number,
  block = 40,
): Promise<number[]> {
  const ids = Array.from({ length: past }, (_, i) => 1 + ((i * 37) % 4000));
  // One run at a time: two onnxruntime-web sessions must never run concurrently (see README).
  const sides: Side[] = [];
  for (const [i, { decoder, lora }] of cases.entries()) {
    const pastKv = (await decoder.run({ ids: [ids], lora })).present;
    const step = () => decoder.run({ ids: [[42]], past: pastKv, lora });
    sides.push({
      name: String(i),
      run: async () => {
        await step();
        return (
          (await timeMs(async () => {
            for (let k = 1; k < block; k++) await step();
          })) /
          (block - 1)
        );
      },
    });
  }
  const s = await interleave(sides, blocks);
  return sides.map((side) => median(s[side.name] as number[]));
}

/** Lower-level timings on onnxruntime-web with hand-written graphs (no model involved). */
async function kernels(q: boolean, hidden: number, ffn: number) {
  type Make = (g: TinyGraph) => Promise<ort.InferenceSession>;
  const [m, k, n] = [256, 512, 512];
  const matmulRate = async (make: Make) => {
    const mm = await make({
      inputs: [{ name: 'x', dims: [m, k] }],
      initializers: [{ name: 'w', dims: [k, n], data: randn(k * n) }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], output: 'y' }],
      output: { name: 'y', dims: [m, n] },
    });
    const gflops = (2 * m * k * n) / (await runMs(mm, { x: [m, k] }, q ? 10 : 100)) / 1e6;
    await mm.release();
    return gflops;
  };
  const matmulGflops = await matmulRate(session);
  const nativeMatmulGflops = await matmulRate(nativeSession);

  // GEMV (one row times a weight matrix, as in a decode step) streaming its weights from L2, L3, DRAM.
  const gemvGbs = async (rows: number, cols: number, reps: number, make: Make = session) => {
    const s = await make({
      inputs: [{ name: 'x', dims: [1, rows] }],
      initializers: [{ name: 'w', dims: [rows, cols], data: randn(rows * cols) }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], output: 'y' }],
      output: { name: 'y', dims: [1, cols] },
    });
    const ms = await runMs(s, { x: [1, rows] }, reps);
    await s.release();
    return (rows * cols * 4) / (ms * 1e6);
  };
  const gemvL2 = await gemvGbs(hidden, ffn, q ? 200 : 5000); // 704 KiB: the model's largest matrix
  const gemvL3 = await gemvGbs(2048, 2048, q ? 20 : 300); // 16 MiB: the whole model's size
  const nativeGemvL3 = await gemvGbs(2048, 2048, q ? 20 : 300, nativeSession);
  const gemvDram = await gemvGbs(4096, q ? 4096 : 8192, q ? 3 : 20); // 64 / 128 MiB

  // Fixed costs. Inputs have a dynamic axis, as the model's do (shapes inferred, buffers planned per run).
  // Cheapest node: a chain of Adds. LoRA-like node: blocks of x + (x·Aᵀ)·Bᵀ with Aᵀ, Bᵀ fed as inputs of
  // rank 8 or rank 0 — the three nodes per target the LoRA graph adds after optimisation.
  const reps = q ? 200 : 3000;
  const addChain = (len: number) =>
    session({
      inputs: [{ name: 'x', dims: ['batch', hidden] }],
      nodes: Array.from({ length: len }, (_, i) => ({
        op: 'Add',
        inputs: [i === 0 ? 'x' : `t${i - 1}`, 'x'],
        output: i === len - 1 ? 'y' : `t${i}`,
      })),
      output: { name: 'y', dims: ['batch', hidden] },
    });
  // `own`: every block has its own A, B inputs (as the LoRA graph: a pair per target), else they share one.
  const loraChain = (blocks: number, own: boolean) =>
    session({
      inputs: [
        { name: 'x', dims: ['batch', hidden] },
        ...Array.from({ length: own ? blocks : 1 }, (_, i) => [
          { name: `a${i}`, dims: [hidden, `rank${i}`] },
          { name: `b${i}`, dims: [`rank${i}`, hidden] },
        ]).flat(),
      ],
      nodes: Array.from({ length: blocks }, (_, i) => {
        const from = i === 0 ? 'x' : `t${i - 1}`;
        const j = own ? i : 0;
        return [
          { op: 'MatMul', inputs: [from, `a${j}`], output: `h${i}` },
          { op: 'MatMul', inputs: [`h${i}`, `b${j}`], output: `d${i}` },
          { op: 'Add', inputs: [from, `d${i}`], output: i === blocks - 1 ? 'y' : `t${i}` },
        ];
      }).flat(),
      output: { name: 'y', dims: ['batch', hidden] },
    });
  const one = await addChain(1);
  const runOverheadMs = await runMs(one, { x: [1, hidden] }, reps);
  const perAddUs = ((await runMs(await addChain(101), { x: [1, hidden] }, reps)) - runOverheadMs) * 10;
  const loraShapes = (blocks: number, rank: number) => {
    const shapes: Record<string, number[]> = { x: [1, hidden] };
    for (let i = 0; i < blocks; i++) {
      shapes[`a${i}`] = [hidden, rank];
      shapes[`b${i}`] = [rank, hidden];
    }
    return shapes;
  };
  const perLoraNodeUs = async (rank: number) => {
    const short = await runMs(await loraChain(1, false), loraShapes(1, rank), reps);
    const long = await runMs(await loraChain(33, false), loraShapes(1, rank), reps);
    return ((long - short) / 96) * 1000;
  };
  // Feeding 64 more (rank-0) input tensors: what the LoRA graph's 56 extra inputs cost per run.
  const perInputUs = async () => {
    const shared = await runMs(await loraChain(33, false), loraShapes(1, 0), reps);
    const own = await runMs(await loraChain(33, true), loraShapes(33, 0), reps);
    return ((own - shared) / 64) * 1000;
  };
  return {
    matmulGflops,
    nativeMatmulGflops,
    nativeGemvL3,
    gemvL2,
    gemvL3,
    gemvDram,
    runOverheadMs,
    perAddUs,
    perLoraNodeUsRank8: await perLoraNodeUs(8),
    perLoraNodeUsRank0: await perLoraNodeUs(0),
    perInputUs: await perInputUs(),
  };
}

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const q = ctx.quick;
  const cfg = ctx.pkg.config;
  const caches = cacheSizes();
  const dram = copyBandwidth(q ? 64 : 256, q ? 2 : 5);
  const l2 = copyBandwidth(0.25, q ? 50 : 2000); // 256 KiB each way, inside a 1 MiB L2
  const kern = await kernels(q, cfg.hidden_size, cfg.intermediate_size);

  // The model: weights read per token and FLOPs per token (matmuls: 2 per weight; the embedding is tied to
  // the LM head, so it is read once per token as the head and its gather row is negligible).
  const st = parseSafetensors(new Uint8Array(await readFile(join(MODEL_DIR, 'model.safetensors'))));
  let params = 0;
  for (const t of st.tensors.values()) params += t.shape.reduce((a, b) => a * b, 1);
  const weightBytes = params * 4;
  const pos = 64; // the decode position the step figures are taken at
  const qDim = cfg.num_attention_heads * (cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads);
  const attnFlops = (p: number) => 2 * 2 * cfg.num_hidden_layers * qDim * p; // QKᵀ and AV
  const flopsPerToken = 2 * params + attnFlops(pos);

  // Node counts: the graphs as exported, and after onnxruntime's own optimisations ("all", as served).
  const loraBytes = new Uint8Array(await readFile(join(MODEL_DIR, 'model.onnx')));
  const baseBytes = new Uint8Array(await readFile(join(ensureBaseOnlyExport(ctx.log), 'onnx/model.onnx')));
  const optimizedNodes = async (bytes: Uint8Array, name: string) => {
    const path = join(TMP, `${name}.optimized.onnx`);
    const s = await ortNode.InferenceSession.create(bytes, {
      ...NODE_ONE_THREAD,
      optimizedModelFilePath: path,
    });
    await s.release();
    return countNodes(new Uint8Array(await readFile(path)));
  };
  const baseOps = await optimizedNodes(baseBytes, 'base');
  const nodes = {
    lora: sum(countNodes(loraBytes)),
    base: sum(countNodes(baseBytes)),
    loraOpt: sum(await optimizedNodes(loraBytes, 'lora')),
    baseOpt: sum(baseOps),
    baseMatMuls: (baseOps.get('MatMul') ?? 0) + (baseOps.get('FusedMatMul') ?? 0),
  };

  // The model itself: prefill (many tokens per run: the compute-bound regime) and the decode step.
  const base = await baseOnlyDecoder(ctx.pkg);
  const prefillLen = q ? 64 : cfg.max_position_embeddings - 1;
  const prefillIds = Array.from({ length: prefillLen }, (_, i) => 1 + ((i * 37) % 4000));
  const prefillMs = await medianMs(q ? 2 : 10, () => base.run({ ids: [prefillIds] }));
  let prefillFlops = 2 * params * prefillLen;
  for (let p = 1; p <= prefillLen; p++) prefillFlops += attnFlops(p);
  const blocks = q ? 2 : 15;
  const files = rankAdapter(ctx.pkg, 11, 8);
  const rank8 = await new Engine(ctx.pkg, { loader: ADAPTERS }).resolveAdapters(
    [ADAPTERS.ref('ceiling-rank8', files)],
    BASE,
  );
  const lora = ctx.pkg.decoder as Decoder;
  const [stepMs, rank0StepMs, rank8StepMs] = (await decodeStepMs(
    [{ decoder: base }, { decoder: lora }, { decoder: lora, lora: rank8?.lora }],
    pos,
    blocks,
  )) as [number, number, number];

  const floorL3Ms = weightBytes / (kern.gemvL3 * 1e6);
  const floorDramMs = weightBytes / (kern.gemvDram * 1e6);
  const floorFlopsMs = flopsPerToken / (kern.matmulGflops * 1e6);
  ctx.log(
    `caches ${JSON.stringify(caches)} KiB; nodes ${JSON.stringify(nodes)}; step ${stepMs.toFixed(3)} ms ` +
      `(floors: weights from L3 ${floorL3Ms.toFixed(3)}, from DRAM ${floorDramMs.toFixed(3)}, ` +
      `FLOPs ${floorFlopsMs.toFixed(3)} ms)`,
  );
  const r = (x: number, d = 3) => round(x, d);
  return [
    { id: 'cpu_l2_cache_kib_per_core', value: caches.l2 ?? 0, unit: 'KiB' },
    { id: 'cpu_l3_cache_kib_shared', value: caches.l3 ?? 0, unit: 'KiB' },
    { id: 'memory_bandwidth_dram_memcpy_gb_s', value: r(dram, 2), unit: 'GB/s' },
    { id: 'memory_bandwidth_l2_memcpy_gb_s', value: r(l2, 2), unit: 'GB/s' },
    { id: 'ort_web_matmul_gflop_s_256x512x512', value: r(kern.matmulGflops, 2), unit: 'GFLOP/s' },
    {
      id: 'ort_node_matmul_gflop_s_256x512x512_1_thread',
      value: r(kern.nativeMatmulGflops, 2),
      unit: 'GFLOP/s',
    },
    { id: 'ort_web_gemv_gb_s_weights_in_l2_704kib', value: r(kern.gemvL2, 2), unit: 'GB/s' },
    { id: 'ort_web_gemv_gb_s_weights_in_l3_16mib', value: r(kern.gemvL3, 2), unit: 'GB/s' },
    { id: 'ort_web_gemv_gb_s_weights_in_dram', value: r(kern.gemvDram, 2), unit: 'GB/s' },
    { id: 'ort_node_gemv_gb_s_weights_in_l3_16mib_1_thread', value: r(kern.nativeGemvL3, 2), unit: 'GB/s' },
    { id: 'ort_web_session_run_overhead_ms_one_node_graph', value: r(kern.runOverheadMs, 4), unit: 'ms' },
    { id: 'ort_web_per_node_overhead_us_add', value: r(kern.perAddUs, 2), unit: 'µs' },
    { id: 'ort_web_per_node_overhead_us_lora_block_rank8', value: r(kern.perLoraNodeUsRank8, 2), unit: 'µs' },
    { id: 'ort_web_per_node_overhead_us_lora_block_rank0', value: r(kern.perLoraNodeUsRank0, 2), unit: 'µs' },
    { id: 'ort_web_per_input_tensor_overhead_us_rank0', value: r(kern.perInputUs, 2), unit: 'µs' },
    { id: 'model_params_millions', value: r(params / 1e6, 3), unit: 'M' },
    { id: 'model_weight_mib_read_per_token', value: r(weightBytes / 2 ** 20, 2), unit: 'MiB' },
    { id: `model_mflop_per_token_at_position_${pos}`, value: r(flopsPerToken / 1e6, 2), unit: 'MFLOP' },
    { id: 'graph_nodes_base_only_exported', value: nodes.base, unit: 'nodes' },
    { id: 'graph_nodes_base_only_optimized', value: nodes.baseOpt, unit: 'nodes' },
    { id: 'graph_nodes_base_only_optimized_matmuls', value: nodes.baseMatMuls, unit: 'nodes' },
    { id: 'graph_nodes_lora_exported', value: nodes.lora, unit: 'nodes' },
    { id: 'graph_nodes_lora_optimized', value: nodes.loraOpt, unit: 'nodes' },
    {
      id: `prefill_gflop_s_${prefillLen}_tokens`,
      value: r(prefillFlops / prefillMs / 1e6, 2),
      unit: 'GFLOP/s',
    },
    { id: `decode_step_ms_base_only_at_position_${pos}`, value: r(stepMs), unit: 'ms' },
    { id: `decode_step_ms_lora_graph_rank0_at_position_${pos}`, value: r(rank0StepMs), unit: 'ms' },
    { id: `decode_step_ms_lora_graph_rank8_at_position_${pos}`, value: r(rank8StepMs), unit: 'ms' },
    { id: 'decode_floor_ms_weights_from_l3_at_gemv_rate', value: r(floorL3Ms), unit: 'ms' },
    { id: 'decode_floor_ms_weights_from_dram_at_gemv_rate', value: r(floorDramMs), unit: 'ms' },
    { id: 'decode_floor_ms_flops_at_matmul_rate', value: r(floorFlopsMs), unit: 'ms' },
    {
      id: 'decode_step_fraction_of_l3_weight_streaming_ceiling',
      value: r(floorL3Ms / stepMs),
      unit: 'fraction',
    },
  ];
}

function sum(m: Map<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}
