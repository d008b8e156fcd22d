// The PEFT table on the product's task: the personalization test's story readers (each likes the first two
// thirds of a held-out serial; scored on the last third, never sent) trained with LoRA at ranks 2 / 8 / 16 on
// every target and at rank 8 on attention only, each variant on a fresh platform in this process (real
// trainer, real engine) through the same driver as the test (runtime/demo/personalization.ts). The peer is the
// default recipe (rank 8, all targets) in the same run; prefix tuning (16 virtual tokens) through the same
// worker. Not in the default `npm run bench` (about 5 minutes a variant on 2 cores): `npm run bench -- --only
// peft [--merge]` (`PEFT_VARIANTS=prefix_16` for some variants; the peer always runs).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS_DIR } from '../core/node/repo.js';
import { BaseModels } from '../gpu-worker/base-model.js';
import { userRecipe } from '../gpu-worker/recipe.js';
import { TrainingScheduler } from '../gpu-worker/scheduler.js';
import { Worker } from '../gpu-worker/worker.js';
import {
  type Connection,
  type PersonalizationReport,
  runPersonalization,
} from '../runtime/demo/personalization.js';
import { startInProcess } from '../runtime/node/in-process.js';
import { ALL_TARGETS, type PeftMethod, type RecipeOverrides } from '../schema/training.js';
import { type Measured, round } from './harness.js';
import type { BenchContext } from './setup.js';

const ADMIN = 'bench-peft-admin-token-0123456789';
type Target = (typeof ALL_TARGETS)[number];
const ATTENTION: readonly Target[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

interface Variant {
  name: string;
  method: PeftMethod;
  /** LoRA: rank and targets; prefix: virtual tokens (r and targets unused). */
  r: number;
  targets: readonly Target[];
  tokens?: number;
}

const VARIANTS: Variant[] = [
  { name: 'lora_r8_all', method: 'lora', r: 8, targets: ALL_TARGETS }, // the default recipe: the peer
  { name: 'lora_r2_all', method: 'lora', r: 2, targets: ALL_TARGETS },
  { name: 'lora_r16_all', method: 'lora', r: 16, targets: ALL_TARGETS },
  { name: 'lora_r8_attention', method: 'lora', r: 8, targets: ATTENTION },
  { name: 'prefix_16', method: 'prefix', r: 0, targets: [], tokens: 16 },
];

/** Trainable parameters of the variant (a LoRA's pairs, a prefix's keys and values), and the base model's. */
function parameters(v: Variant) {
  const { r, targets } = v;
  const c = JSON.parse(readFileSync(join(MODELS_DIR, 'brown-4m', 'config.json'), 'utf8'));
  const h = c.hidden_size as number;
  const kv = (c.num_key_value_heads as number) * (c.head_dim as number);
  const q = (c.num_attention_heads as number) * (c.head_dim as number);
  const f = c.intermediate_size as number;
  const shape: Record<string, [number, number]> = {
    q_proj: [h, q],
    k_proj: [h, kv],
    v_proj: [h, kv],
    o_proj: [q, h],
    gate_proj: [h, f],
    up_proj: [h, f],
    down_proj: [f, h],
  };
  const perLayer =
    v.method === 'prefix'
      ? (v.tokens ?? 0) * 2 * kv // keys and values of each virtual token
      : targets.reduce(
          (s, t) => s + r * ((shape[t] as [number, number])[0] + (shape[t] as [number, number])[1]),
          0,
        );
  const base =
    (c.vocab_size as number) * h + // tied embeddings
    (c.num_hidden_layers as number) * (h * q + 2 * h * kv + q * h + 3 * h * f + 2 * h) +
    h;
  return { lora: perLayer * (c.num_hidden_layers as number), base };
}

async function measure(ctx: BenchContext, v: Variant) {
  const p = await startInProcess({
    ADMIN_TOKEN: ADMIN,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  });
  const baseModels = new BaseModels({
    db: p.database.db,
    store: p.store,
    cacheDir: mkdtempSync(join(tmpdir(), 'tailor-bench-peft-')),
    localDirs: { [p.services.baseModelId]: join(MODELS_DIR, p.services.baseModelId) },
  });
  const recipe: RecipeOverrides =
    v.method === 'prefix'
      ? { method: 'prefix', prefix: { tokens: v.tokens ?? userRecipe.prefix.tokens } }
      : { lora: { r: v.r, alpha: 2 * v.r, targets: [...v.targets] } };
  const worker = new Worker({
    db: p.database.db,
    store: p.store,
    baseModels,
    pollMs: 100,
    recipe,
    platformSecret: p.services.urlSecret,
  });
  worker.start();
  p.services.training = new TrainingScheduler({
    db: p.database.db,
    baseModel: p.services.baseModelId,
    policy: p.services.config.training,
    waitPollMs: 200,
    onEnqueued: () => worker.wake(),
  });
  try {
    const api: Connection = { baseUrl: 'http://localhost', fetch: (url, init) => p.app.request(url, init) };
    const report = await runPersonalization(api, {
      admin: ADMIN,
      readers: ctx.quick ? 2 : 4,
      generations: 4,
    });
    // The published weights' size, from the store (every reader's file has the same size).
    const sizes: number[] = [];
    const blobs = await p.store.list('adapters/');
    for (const r of report.readers) {
      const file = blobs.find((b) => b.key.endsWith(`/${r.reader}/${r.version}/adapter_model.safetensors`));
      if (file) sizes.push(file.size);
    }
    return { report, bytes: sizes[0] ?? 0 };
  } finally {
    await worker.stop();
    await p.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const span = (xs: number[]) => `${round(Math.min(...xs), 2)}…${round(Math.max(...xs), 2)}`;

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const out: Measured[] = [];
  let peer: PersonalizationReport | null = null;
  // PEFT_VARIANTS=prefix_16,lora_r2_all: only these (and the peer, always first) — each takes ~5 minutes.
  const only = process.env.PEFT_VARIANTS?.split(',').map((s) => s.trim());
  for (const v of VARIANTS.filter((x, i) => i === 0 || !only || only.includes(x.name))) {
    const what =
      v.method === 'prefix' ? `a prefix of ${v.tokens} tokens` : `LoRA r${v.r} on ${v.targets.join(', ')}`;
    ctx.log(`  ${v.name}: training ${ctx.quick ? 2 : 4} readers (${what}) …`);
    const { report, bytes } = await measure(ctx, v);
    peer ??= report;
    const rs = report.readers;
    const own = rs.map((r) => r.ownChangePct);
    const spec = rs.map((r) => r.specificityPts);
    const general = rs.map((r) => r.generalChangePct);
    const names = rs.reduce((s, r) => s + r.namesAfter, 0);
    const promoted = rs.filter((r) => r.version).length;
    const params = parameters(v);
    const perUser = report.seconds.training / Math.max(1, rs.length);
    const peerOwn = mean(peer.readers.map((r) => r.ownChangePct));
    ctx.log(
      `  ${v.name}: own ${span(own)} % (mean ${round(mean(own), 2)}), specificity ${span(spec)} pts, non-fiction ${span(general)} %, names ${names}/${4 * rs.length}, ${promoted}/${rs.length} promoted, ${round(perUser, 1)} s a reader, ${params.lora} parameters (${round((100 * params.lora) / params.base, 2)} % of ${params.base}), ${round(bytes / 1024, 1)} KB`,
    );
    const recipeText =
      v.method === 'prefix'
        ? `prefix of ${v.tokens} virtual tokens, ${userRecipe.train.steps} steps, lr ${userRecipe.prefix.lr}`
        : `LoRA r${v.r} α${2 * v.r} on ${v.targets.length === ALL_TARGETS.length ? 'all 7 targets' : 'q/k/v/o'}, ${userRecipe.train.steps} steps, lr ${userRecipe.train.lr}`;
    const vs =
      v === VARIANTS[0] ? undefined : 'the default recipe (LoRA r8 on all targets), same readers, same run';
    out.push(
      {
        id: `peft_${v.name}_own_nll_change_pct_mean_lower_is_better`,
        value: round(mean(own), 3),
        unit: `% (${rs.length} readers: ${span(own)}; ${recipeText})`,
        ...(vs ? { vs, ratio: round(mean(own) / peerOwn, 3) } : {}),
      },
      {
        id: `peft_${v.name}_specificity_pts_mean`,
        value: round(mean(spec), 3),
        unit: `points (${span(spec)})`,
      },
      {
        id: `peft_${v.name}_nonfiction_change_pct_max_lower_is_better`,
        value: round(Math.max(...general), 3),
        unit: `% (${span(general)})`,
        goal: '≤ 0.5 %',
      },
      { id: `peft_${v.name}_names_recalled`, value: names, unit: `of ${4 * rs.length} generations` },
      {
        id: `peft_${v.name}_trainable_params_pct_of_base`,
        value: round((100 * params.lora) / params.base, 3),
        unit: `% (${params.lora} of ${params.base})`,
      },
      { id: `peft_${v.name}_adapter_file_kb`, value: round(bytes / 1024, 1), unit: 'KB (safetensors, fp32)' },
      {
        id: `peft_${v.name}_training_s_per_reader_lower_is_better`,
        value: round(perUser, 1),
        unit: `s (one job of ${rs.length} readers, CPU)`,
      },
    );
  }
  return out;
}
