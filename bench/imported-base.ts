// An imported base at a real base's size: a random checkpoint of SmolLM2-135M's shape (hidden 576, 30 layers,
// 9 / 3 heads, MLP 1536, vocab 49152, tied, bf16), written by transformers (gpu-worker/trainer/tests/
// tiny_checkpoints.py) and imported by the trainer's `import-hf` as the platform's import job runs it (the
// check against transformers and bits per byte included). Then, on the engine as it serves (onnxruntime-web,
// one wasm thread): one-stream greedy decode; 8 readers with distinct rank-8 adapters decoding together
// against the same 8 one after another; the step against its weight-streaming floor (every weight read once
// per token, at the copy bandwidth measured in the same run); and what loading the base adds to RSS.
// Opt-in (`npm run bench -- --only imported-base`): it writes ~1.1 GB and takes minutes.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FileStore } from '../core/node/file-store.js';
import {
  type AdapterRef,
  Engine,
  type GenerateResult,
  loadModelPackage,
  setSessionFactory,
} from '../engine/index.js';
import { randomAdapter, TestAdapters } from '../engine/testing.js';
import { IMPORT_PYTHON, IMPORT_TEXTS } from '../gpu-worker/import-model.js';
import { TRAINER_DIR } from '../gpu-worker/trainer-process.js';
import { nativeSessions } from '../runtime/node/native-runtime.js';
import { ALL_TARGETS } from '../schema/training.js';
import { type Measured, median, round } from './harness.js';
import { type BenchContext, GREEDY, ROOT, TMP } from './setup.js';

const VARIANT = 'smollm2-135m-shape';
const NAME = 'smollm2-135m-shape';
const PROMPT = 'The old man walked slowly down the road toward the town, and';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const work = join(TMP, 'imported-base');
  const src = join(work, 'checkpoint');
  const packages = join(work, 'storage', 'models');
  const out = join(packages, NAME);
  if (!existsSync(IMPORT_PYTHON))
    execFileSync('bash', [join(ROOT, 'scripts/setup-venv.sh')], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(packages, { recursive: true });

  ctx.log(`writing a random ${VARIANT} checkpoint with transformers`);
  execFileSync(IMPORT_PYTHON, ['-m', 'tests.tiny_checkpoints', work, VARIANT], {
    cwd: TRAINER_DIR,
    stdio: 'ignore',
  });
  execFileSync('mv', [join(work, VARIANT), src]);

  ctx.log('importing it (convert, check against transformers, bits per byte)');
  execFileSync(process.execPath, ['--import', 'tsx', IMPORT_TEXTS, src, work], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const sample = join(work, 'sample.json');
  const t0 = performance.now();
  const threads = '2';
  const lines = execFileSync(
    IMPORT_PYTHON,
    [
      '-m',
      'tailor_trainer',
      '--threads',
      threads,
      'import-hf',
      '--src',
      src,
      '--out',
      out,
      '--name',
      NAME,
      '--sample',
      sample,
    ],
    {
      cwd: TRAINER_DIR,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, OMP_NUM_THREADS: threads },
    },
  )
    .trim()
    .split('\n');
  const importS = (performance.now() - t0) / 1000;
  const report = JSON.parse(lines.at(-1) as string) as {
    params: number;
    parity: { graph_max_abs_diff: number };
    bits_per_byte: { all: { bpb: number } };
  };
  const size = (f: string) => statSync(join(out, f)).size / 1e6;
  const checkpointMB = folderMB(src);

  ctx.log('loading it into an engine (onnxruntime-web, one thread)');
  const store = new FileStore(join(work, 'storage'));
  const rss = () => process.memoryUsage().rss / 1e6;
  const rssBefore = rss();
  const pkg = await loadModelPackage(store, `models/${NAME}/`);
  const rssSession = rss() - rssBefore; // the LoRA graph's session (and its bytes, read once)
  const adapters = new TestAdapters(NAME);
  const engine = new Engine(pkg, { loader: adapters, adapterCacheBytes: 256 * 1024 * 1024 });
  await engine.ready;
  const rssMB = rss() - rssBefore; // + the base-only lane's session (TAILOR_BASE_ONLY_GRAPH)

  const refs = Array.from({ length: 8 }, (_, i) =>
    adapters.ref(
      `adapters/bench/${NAME}/${i}/`,
      randomAdapter(pkg.shape, { r: 8, alpha: 16, targets: [...ALL_TARGETS], seed: i + 1, scale: 0.02 }),
    ),
  );
  const wasm = await lane(ctx, engine, refs);
  const rssAfterWasm = rss() - rssBefore;
  const { tps, serialTps, batchTps } = wasm;

  // The native lane: the same package on onnxruntime-node, one intra-op thread, then two.
  const native: Record<number, Awaited<ReturnType<typeof lane>>> = {};
  for (const threads of [1, 2]) {
    setSessionFactory(nativeSessions(threads));
    try {
      const again = await loadModelPackage(new FileStore(join(work, 'storage')), `models/${NAME}/`);
      const e = new Engine(again, {
        loader: adapters,
        adapterCacheBytes: 256 * 1024 * 1024,
        baseOnlyGraph: false,
      });
      await e.ready;
      native[threads] = await lane(ctx, e, refs);
    } finally {
      setSessionFactory(null);
    }
  }

  // int8: the same graph with int8 weights (what `--quantize int8` serves), a package beside it
  const int8Dir = join(packages, `${NAME}-int8`);
  cpSync(out, int8Dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(int8Dir, 'config.json'), 'utf8'));
  config.tailor.quantized = 'int8';
  writeFileSync(join(int8Dir, 'config.json'), JSON.stringify(config));
  execFileSync(
    IMPORT_PYTHON,
    [
      '-c',
      'import sys; from pathlib import Path; from tailor_trainer.hf_import import quantize_int8; quantize_int8(Path(sys.argv[1]))',
      join(int8Dir, 'model.onnx'),
    ],
    { cwd: TRAINER_DIR, stdio: 'ignore' },
  );
  const int8MB = statSync(join(int8Dir, 'model.onnx')).size / 1e6;
  const int8: Record<string, Awaited<ReturnType<typeof lane>>> = {};
  for (const runtime of ['native', 'wasm'] as const) {
    if (runtime === 'native') setSessionFactory(nativeSessions(1));
    try {
      const q = await loadModelPackage(new FileStore(join(work, 'storage')), `models/${NAME}-int8/`);
      const e = new Engine(q, { loader: adapters, baseOnlyGraph: false });
      await e.ready;
      int8[runtime] = await lane(ctx, e, [], `${NAME}-int8`);
    } finally {
      setSessionFactory(null);
    }
  }

  // The floor: a decode step reads every weight once (fp32 on this lane); at the bandwidth of a plain copy of
  // that many bytes, measured here, no step can be faster.
  const weightBytes = report.params * 4;
  const a = new Float32Array(weightBytes / 4);
  const b = new Float32Array(weightBytes / 4);
  a.fill(1);
  const copies: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    b.set(a);
    copies.push(performance.now() - s);
  }
  const floorMs = median(copies) / 2; // a copy reads and writes every byte: reading alone is half of it
  const stepMs = 1000 / tps;
  ctx.log(
    `import ${importS.toFixed(0)} s; ${tps.toFixed(1)} tokens/s; step ${stepMs.toFixed(1)} ms vs floor ${floorMs.toFixed(1)} ms`,
  );

  const id = 'imported_smollm2_135m_shape';
  return [
    {
      id: `${id}_import_s`,
      value: round(importS, 1),
      unit: 's',
      goal: '≤ 600 s on 2 vCPUs (native-lane goal; here: the whole import, check included)',
    },
    { id: `${id}_params_m`, value: round(report.params / 1e6, 1), unit: 'M' },
    {
      id: `${id}_parity_max_abs_diff`,
      value: report.parity.graph_max_abs_diff,
      unit: 'logits',
      goal: '≤ 1e-4',
    },
    {
      id: `${id}_bits_per_byte_random_weights`,
      value: round(report.bits_per_byte.all.bpb, 3),
      unit: 'bits/byte',
    },
    { id: `${id}_checkpoint_bf16_mb`, value: round(checkpointMB, 1), unit: 'MB' },
    { id: `${id}_package_onnx_fp32_mb`, value: round(size('model.onnx'), 1), unit: 'MB' },
    { id: `${id}_package_safetensors_fp32_mb`, value: round(size('model.safetensors'), 1), unit: 'MB' },
    { id: `${id}_decode_one_stream_wasm_tokens_per_s`, value: round(tps, 1), unit: 'tokens/s' },
    {
      id: `${id}_decode_step_vs_weight_streaming_floor`,
      value: round(stepMs, 1),
      unit: 'ms',
      vs: `reading ${round(weightBytes / 1e6, 0)} MB of fp32 weights at this machine's copy bandwidth (${round(floorMs, 1)} ms)`,
      ratio: round(floorMs / stepMs),
      goal: '≥ 0.5 of the floor (native-lane goal)',
    },
    {
      id: `${id}_8_readers_rank8_batched_tokens_per_s`,
      value: round(batchTps, 1),
      unit: 'tokens/s',
      vs: 'the same 8 generations one after another',
      ratio: round(batchTps / serialTps),
      goal: '≥ 2.5× (native-lane goal)',
    },
    { id: `${id}_rss_per_loaded_base_mb`, value: round(rssMB, 0), unit: 'MB' },
    { id: `${id}_rss_lora_session_alone_mb`, value: round(rssSession, 0), unit: 'MB' },
    { id: `${id}_rss_after_decoding_mb`, value: round(rssAfterWasm, 0), unit: 'MB' },
    {
      id: `${id}_decode_one_stream_native_1_thread_tokens_per_s`,
      value: round(native[1]?.tps ?? 0, 1),
      unit: 'tokens/s',
      vs: 'the same engine on onnxruntime-web (wasm, one thread), same run',
      ratio: round((native[1]?.tps ?? 0) / tps),
    },
    {
      id: `${id}_decode_one_stream_native_2_threads_tokens_per_s`,
      value: round(native[2]?.tps ?? 0, 1),
      unit: 'tokens/s',
      vs: 'onnxruntime-node with one intra-op thread, same run',
      ratio: round((native[2]?.tps ?? 0) / (native[1]?.tps ?? 1)),
      goal: '≥ 1.6×',
    },
    {
      id: `${id}_native_1_thread_step_vs_weight_streaming_floor`,
      value: round(1000 / (native[1]?.tps ?? 1), 1),
      unit: 'ms',
      vs: `reading the fp32 weights once (${round(floorMs, 1)} ms)`,
      ratio: round(floorMs / (1000 / (native[1]?.tps ?? 1))),
      goal: '≥ 0.5 of the floor',
    },
    { id: `${id}_package_onnx_int8_mb`, value: round(int8MB, 1), unit: 'MB' },
    {
      id: `${id}_decode_one_stream_native_int8_tokens_per_s`,
      value: round(int8.native?.tps ?? 0, 1),
      unit: 'tokens/s',
      vs: 'the fp32 graph on onnxruntime-node, one intra-op thread each, same run',
      ratio: round((int8.native?.tps ?? 0) / (native[1]?.tps ?? 1)),
      goal: '≥ 2×',
    },
    {
      id: `${id}_decode_one_stream_wasm_int8_tokens_per_s`,
      value: round(int8.wasm?.tps ?? 0, 1),
      unit: 'tokens/s',
      vs: 'the fp32 graph on onnxruntime-web, same run',
      ratio: round((int8.wasm?.tps ?? 0) / tps),
    },
    {
      id: `${id}_native_2_threads_8_readers_rank8_batched_tokens_per_s`,
      value: round(native[2]?.batchTps ?? 0, 1),
      unit: 'tokens/s',
      vs: 'the same 8 generations one after another on the same lane',
      ratio: round((native[2]?.batchTps ?? 0) / (native[2]?.serialTps ?? 1)),
      goal: '≥ 2.5×',
    },
  ];
}

/** One-stream greedy decode, then 8 readers' rank-8 adapters one after another and together, on `engine`. */
async function lane(ctx: BenchContext, engine: Engine, refs: AdapterRef[], base = NAME) {
  const n = ctx.quick ? 8 : 32;
  const gen = (adapters: AdapterRef[] = [], tokens = n) =>
    engine.generate(PROMPT, { ...GREEDY, base, maxTokens: tokens, adapters })
      .result as Promise<GenerateResult>;
  await gen([], 4); // warm
  const oneStream: number[] = [];
  for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
    const r = await gen();
    oneStream.push(((r.completionTokens - 1) * 1000) / (r.timings.totalMs - r.timings.firstTokenMs));
  }
  for (const ref of refs) await engine.prepareAdapters([ref], { base });
  const tokensOf = (rs: GenerateResult[]) => rs.reduce((a, r) => a + r.completionTokens, 0);
  let t = performance.now();
  const serial: GenerateResult[] = [];
  for (const ref of refs) serial.push(await gen([ref]));
  const serialTps = (tokensOf(serial) * 1000) / (performance.now() - t);
  t = performance.now();
  const together = await Promise.all(refs.map((ref) => gen([ref])));
  const batchTps = (tokensOf(together) * 1000) / (performance.now() - t);
  return { tps: median(oneStream), serialTps, batchTps };
}

/** MB of the files in `dir`. */
function folderMB(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0) / 1e6;
}
