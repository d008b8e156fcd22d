// 2. The runtime under the same loop: Tailor's engine (decoder, sampler, stream) on onnxruntime-web (wasm,
// one thread) vs the very same engine over an onnxruntime-node session (native, one intra-op thread), the
// shipped LoRA graph with rank-0 inputs, greedy, interleaved. Shows what the wasm build costs.
import * as ortNode from 'onnxruntime-node';
import { Engine } from '../engine/index.js';
import { interleave, type Measured, median, round, speedup } from './harness.js';
import {
  ADAPTERS,
  type BenchContext,
  engineWith,
  generate,
  nativeDecoder,
  promptWithoutEos,
} from './setup.js';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const n = ctx.quick ? 16 : 128;
  const rounds = ctx.quick ? 2 : 30;
  const web = new Engine(ctx.pkg, { loader: ADAPTERS });
  const native = engineWith(ctx.pkg, await nativeDecoder(ctx.pkg), 'bench/native/');
  const { prompt } = await promptWithoutEos(n, [[web], [native]]);
  if ((await generate(web, prompt, n)).text !== (await generate(native, prompt, n)).text)
    ctx.log('note: onnxruntime-web and -node decode differently (float rounding)');

  const side = (name: string, engine: Engine) => ({
    name,
    run: async () => (await generate(engine, prompt, n)).timings.totalMs,
  });
  const s = await interleave([side('web', web), side('node', native)], rounds);
  const tps = (k: string) => (n * 1000) / median(s[k] as number[]);
  return [
    {
      id: `engine_decode_tokens_per_s_onnxruntime_web_vs_node`,
      value: round(tps('web'), 1),
      unit: 'tokens/s',
      vs: `the same engine loop on onnxruntime-node ${ortNode.env.versions.node ?? ''} (native, 1 intra-op thread)`,
      ratio: round(speedup(s.web as number[], s.node as number[])),
      goal: '≥ 0.8×',
    },
    { id: 'engine_decode_tokens_per_s_onnxruntime_node', value: round(tps('node'), 1), unit: 'tokens/s' },
  ];
}
