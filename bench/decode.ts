// 1. Decode speed: Tailor's engine vs transformers.js, greedy, the same prompt ids, the same number of new
// tokens, from the very same file (the base-only export of the shipped model), both on onnxruntime-web
// (wasm, one thread) in this process, interleaved. Also Tailor on its shipped package as served (a request
// without an adapter runs the graph without LoRA inputs that the engine derives from the shipped LoRA graph at
// load, lanes.ts), and transformers.js on its Node default (onnxruntime-node,
// native) in a child process, interleaved with the rest; and a bare loop (Tailor's Decoder + argmax, no
// engine: no sampler, stream, stop strings) over the same session — the most any JS loop around this graph
// on this runtime can get, hence the ceiling for the ratio to transformers.js.
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { Engine } from '../engine/index.js';
import { interleave, type Measured, median, round, type Side, speedup } from './harness.js';
import { Child } from './peers/child.js';
import { loadTransformersPeer, type PeerRun } from './peers/transformers.js';
import {
  ADAPTERS,
  BASE,
  type BenchContext,
  baseOnlyDecoder,
  engineWith,
  ensureBaseOnlyExport,
  generate,
  greedyIds,
  promptWithoutEos,
} from './setup.js';

const TJS_VERSION = '4.3.2';

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const n = ctx.quick ? 16 : 128;
  const rounds = ctx.quick ? 2 : 24;
  const dir = ensureBaseOnlyExport(ctx.log);
  const shipped = new Engine(ctx.pkg, { loader: ADAPTERS }); // as served: a request without an adapter runs the base-only lane
  await shipped.ready;
  const baseOnly = engineWith(ctx.pkg, await baseOnlyDecoder(ctx.pkg), 'bench/base-only/');
  const { prompt, ids } = await promptWithoutEos(n, [[baseOnly], [shipped]]);
  ctx.log(`prompt ${JSON.stringify(prompt)} (${ids.length} ids with BOS), ${n} new tokens`);

  const web = await loadTransformersPeer(dir, 'web');
  const child = new Child(join(import.meta.dirname, 'peers/transformers-node-child.ts'));
  try {
    const ready = await child.request<{ threads: number }>({ dir });
    const nodeRun = async () => {
      const r = (await child.request<{ run: PeerRun }>({ ids, n })).run;
      // onnxruntime-node's worker threads spin a little after a run: let them settle before the next side.
      await new Promise((res) => setTimeout(res, 50));
      return r;
    };

    // Same tokens on every side, or the comparison is void.
    const want = (await generate(baseOnly, prompt, n)).text;
    const tok = ctx.pkg.tokenizer;
    for (const [name, r] of [
      ['transformers.js web', await web.generate(ids, n)],
      ['transformers.js node', await nodeRun()],
    ] as const) {
      if (r.ids.length !== n) throw new Error(`${name} generated ${r.ids.length} tokens, not ${n}`);
      if (tok.decode(r.ids) !== want) throw new Error(`${name}'s greedy text differs from Tailor's`);
    }
    const shippedText = (await generate(shipped, prompt, n)).text;
    if (shippedText !== want) ctx.log('note: the served package and the base-only export decode differently');

    const first: Record<string, number[]> = {};
    const side = (name: string, once: () => Promise<{ ms: number; firstMs: number }>): Side => {
      const firsts: number[] = [];
      first[name] = firsts;
      return {
        name,
        run: async (measured) => {
          const r = await once();
          if (measured) firsts.push(r.firstMs);
          return r.ms;
        },
      };
    };
    const tailor = (engine: Engine) => async () => {
      const r = await generate(engine, prompt, n);
      if (r.completionTokens !== n)
        throw new Error(`Tailor generated ${r.completionTokens} tokens, not ${n}`);
      return { ms: r.timings.totalMs, firstMs: r.timings.firstTokenMs };
    };
    const samples = await interleave(
      [
        side('tailor', tailor(baseOnly)),
        side('tjs-web', () => web.generate(ids, n)),
        side('tailor-as-served', tailor(shipped)),
        side('tjs-node', nodeRun),
        side('bare-loop', async () => {
          const t0 = performance.now();
          let firstMs = 0;
          await greedyIds(baseOnly.model(BASE), ids, n, () => {
            firstMs ||= performance.now() - t0;
          });
          return { ms: performance.now() - t0, firstMs };
        }),
      ],
      rounds,
    );

    const ms = (name: string) => samples[name] as number[];
    const tps = (name: string) => (n * 1000) / median(ms(name));
    // Steady decoding: tokens after the first over the time after the first (prefill excluded).
    const stepMs = (name: string) => ms(name).map((t, i) => t - ((first[name] as number[])[i] as number));
    const stepTps = (name: string) => ((n - 1) * 1000) / median(stepMs(name));
    const webPeer = `transformers.js ${TJS_VERSION} on onnxruntime-web ${ortWeb.env.versions.web} (wasm, 1 thread), same base-only file`;
    const nodePeer = `transformers.js ${TJS_VERSION} on onnxruntime-node ${ortNode.env.versions.node ?? ''} (native, its default ${ready.threads} threads), same base-only file`;
    const t = tps('tailor');
    return [
      {
        id: `decode_tokens_per_s_greedy_${n}`,
        value: round(t, 1),
        unit: 'tokens/s',
        vs: webPeer,
        ratio: round(speedup(ms('tailor'), ms('tjs-web'))),
        goal: '≥ 1.5×',
      },
      {
        id: 'decode_step_tokens_per_s_prefill_excluded',
        value: round(stepTps('tailor'), 1),
        unit: 'tokens/s',
        vs: webPeer,
        ratio: round(speedup(stepMs('tailor'), stepMs('tjs-web'))),
      },
      {
        id: `transformers_js_web_decode_tokens_per_s_greedy_${n}`,
        value: round(tps('tjs-web'), 1),
        unit: 'tokens/s',
      },
      {
        id: `decode_tokens_per_s_greedy_${n}_as_served_no_adapter`,
        value: round(tps('tailor-as-served'), 1),
        unit: 'tokens/s',
        vs: webPeer,
        ratio: round(speedup(ms('tailor-as-served'), ms('tjs-web'))),
      },
      {
        id: `bare_decoder_loop_tokens_per_s_greedy_${n}`,
        value: round(tps('bare-loop'), 1),
        unit: 'tokens/s',
        vs: webPeer,
        ratio: round(speedup(ms('bare-loop'), ms('tjs-web'))),
      },
      {
        id: `decode_tokens_per_s_greedy_${n}_vs_transformers_js_node`,
        value: round(t, 1),
        unit: 'tokens/s',
        vs: nodePeer,
        ratio: round(speedup(ms('tailor'), ms('tjs-node'))),
      },
      {
        id: `transformers_js_node_decode_tokens_per_s_greedy_${n}`,
        value: round(tps('tjs-node'), 1),
        unit: 'tokens/s',
      },
    ];
  } finally {
    await child.close();
  }
}
