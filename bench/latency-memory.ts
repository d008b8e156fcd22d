// 6. Time to first token for a ~32-token prompt (from the generate call to the first sampled token: adapter
// resolution and prefill included), without and with a cached rank-8 adapter; and the memory of a serving
// process, measured in a child of its own (engine loaded, generations with and without an adapter).
import { join } from 'node:path';
import { Engine } from '../engine/index.js';
import { interleave, type Measured, median, percentile, round } from './harness.js';
import { Child } from './peers/child.js';
import { ADAPTERS, BASE, type BenchContext, GREEDY, rankAdapter } from './setup.js';

const TEXT =
  'The sheriff rode into town late in the afternoon, tired and dusty from the long trail. He tied his horse ' +
  'in front of the hotel and walked slowly across the street toward the bank, where a crowd had gathered.';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const rounds = ctx.quick ? 5 : 100;
  const engine = new Engine(ctx.pkg, { loader: ADAPTERS });
  const tok = ctx.pkg.tokenizer;
  const prompt = tok.decode(tok.encode(TEXT).slice(0, 32));
  const files = rankAdapter(ctx.pkg, 3, 8);
  const adapters = [ADAPTERS.ref('bench/ttft-rank8', files)];
  const first = async (withAdapter: boolean) => {
    const r = await engine.generate(prompt, {
      ...GREEDY,
      base: BASE,
      maxTokens: 1,
      adapters: withAdapter ? adapters : [],
    }).result;
    return r.timings.firstTokenMs;
  };
  const promptTokens = (await engine.generate(prompt, { ...GREEDY, base: BASE, maxTokens: 1 }).result)
    .promptTokens;
  const s = await interleave(
    [
      { name: 'base', run: () => first(false) },
      { name: 'rank8', run: () => first(true) },
    ],
    rounds,
  );

  const child = new Child(join(import.meta.dirname, 'memory-child.ts'));
  let mem: { rssMaxMB: number; hwmMB: number | null; loadedRssMB: number };
  try {
    mem = await child.request({ tokens: ctx.quick ? 16 : 64 });
  } finally {
    await child.close();
  }
  return [
    {
      id: `time_to_first_token_p50_ms_prompt_${promptTokens}_tokens_lower_is_better`,
      value: round(median(s.base as number[]), 2),
      unit: 'ms',
    },
    {
      id: `time_to_first_token_p99_ms_prompt_${promptTokens}_tokens_lower_is_better`,
      value: round(percentile(s.base as number[], 99), 2),
      unit: 'ms',
    },
    {
      id: `time_to_first_token_p50_ms_prompt_${promptTokens}_tokens_rank8_cached_lower_is_better`,
      value: round(median(s.rank8 as number[]), 2),
      unit: 'ms',
    },
    { id: 'serving_process_rss_after_load_mb', value: round(mem.loadedRssMB, 1), unit: 'MB' },
    { id: 'serving_process_peak_rss_sampled_mb', value: round(mem.rssMaxMB, 1), unit: 'MB' },
    // resourceUsage().maxRSS would be the parent's in a child (see RssSampler.stop): VmHWM is the child's own.
    ...(mem.hwmMB === null
      ? []
      : [{ id: 'serving_process_peak_rss_vmhwm_mb', value: round(mem.hwmMB, 1), unit: 'MB' }]),
  ];
}
