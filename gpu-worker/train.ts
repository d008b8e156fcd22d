// Train several owners' adapters in one trainer process, gate each new version against what it would replace,
// and publish every version (promoted or rejected). Used by the user and the style job kinds alike.
//
// The gate: a new version is promoted only if its held-out loss beats the baseline on the same held-out items
// by more than `recipe.gate.minDelta`; the baseline is the owner's active version (evaluated by the trainer
// from its files, `baseline_adapter`) or, with none, the base model alone (`heldout_loss_before`).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../core/adapters/package.js';
import { ErasedSinceError, publishAdapter } from '../core/adapters/publish.js';
import { type AdapterOwner, getActiveAdapter } from '../core/db/adapters.js';
import type { Db } from '../core/db/database.js';
import { isTrainable } from '../core/db/users.js';
import type { UserHasher } from '../core/erasure/user-hash.js';
import type { BlobStore } from '../core/storage/store.js';
import { PermanentJobError } from '../core/training/jobs.js';
import type {
  TrainerJob,
  TrainerProgress,
  TrainerResult,
  TrainerUserResult,
  TrainingExample,
} from '../core/training/trainer-contract.js';
import { sha256Hex } from '../core/util/encoding.js';
import type { TrainingJob } from '../schema/tables.js';
import type { AdapterMetrics, JobProgress, OwnerOutcome, RecipeOverrides } from '../schema/training.js';
import type { BaseModels, LocalBaseModel } from './base-model.js';
import type { UserDataset } from './dataset.js';
import type { Recipe } from './recipe.js';
import { runTrainer, TrainerError } from './trainer-process.js';

/** What a job processor gets from the worker. */
export interface JobContext {
  job: TrainingJob;
  db: Db;
  store: BlobStore;
  baseModels: BaseModels;
  /** Aborted when the worker lost the job's lease (another worker may hold it now) or is stopping. */
  signal: AbortSignal;
  /** A scratch directory of this attempt, removed afterwards. */
  tmpDir: string;
  progress(p: JobProgress): void;
  log(line: string): void;
  trainer: { python?: string; device?: string; threads?: number; timeoutS?: number };
  /** The worker's own recipe overrides, applied over the job's (a small machine, tests). */
  recipe?: RecipeOverrides;
  /** The keyed hash erased users are known by (their erase epoch is read before their feedback). */
  userHash: UserHasher;
}

export interface OwnerData {
  owner: AdapterOwner;
  dataset: UserDataset;
  /** Extra metrics recorded on the version (feedback counts...). */
  metrics?: AdapterMetrics;
  dataUntil?: Date | null;
  /** Windows of general text for the trainer's guard (`train.general_tolerance`); none: not guarded. */
  general?: TrainingExample[];
  /** A user's erase epoch before their feedback was read: publishing refuses if it moved (ErasedSinceError). */
  fence?: { userHash: string; epoch: number };
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** One owner's losses out of the trainer's history: [step, loss] while it trained, and where held out. */
function ownerCurve(history: NonNullable<TrainerResult['history']>, i: number) {
  const train: [number, number][] = [];
  const heldout: [number, number][] = [];
  const general: [number, number][] = [];
  for (const h of history) {
    const t = h.train_loss[i];
    if (typeof t === 'number') train.push([h.step, round4(t)]);
    const v = h.heldout_loss?.[i];
    if (typeof v === 'number') heldout.push([h.step, round4(v)]);
    const g = h.general_loss?.[i];
    if (typeof g === 'number') general.push([h.step, round4(g)]);
  }
  return { train, heldout, ...(general.length > 0 ? { general } : {}) };
}

/** An owner the job trained but could not publish, and why. */
export interface OwnerFailure {
  owner: AdapterOwner;
  reason: string;
}

export const ownerLabel = (o: AdapterOwner) =>
  'userId' in o ? `${o.appId}/${o.userId}` : `${o.appId}/style:${o.styleId}`;

/** Whether the trainer guarded this owner (the job gave general windows): it then reports both losses. */
const guarded = (
  r: TrainerUserResult,
): r is TrainerUserResult & { general_loss_before: number; general_loss_after: number } =>
  r.general_loss_before !== undefined && r.general_loss_after !== undefined;

/**
 * The gate's decision for one trained owner: its held-out loss beats the baseline by more than `minDelta`, and,
 * where the trainer guarded it, its general-text loss is within `generalTolerance` of the base model's (the
 * trainer keeps only such steps; checked again here so no other path publishes one that is not).
 */
export function passesGate(
  r: TrainerUserResult,
  minDelta: number,
  generalTolerance = Number.POSITIVE_INFINITY,
): { baseline: number; passed: boolean } {
  const baseline = r.baseline_heldout_loss ?? r.heldout_loss_before;
  const general = !guarded(r) || r.general_loss_after <= r.general_loss_before * (1 + generalTolerance);
  return { baseline, passed: r.heldout_loss_after < baseline - minDelta && general };
}

async function fetchBaseline(
  ctx: JobContext,
  owner: AdapterOwner,
  model: LocalBaseModel,
  dir: string,
): Promise<{ dir: string; version: string } | null> {
  const active = await getActiveAdapter(ctx.db, owner);
  if (!active) return null;
  if (active.baseModelId !== model.id) {
    ctx.log(
      `${ownerLabel(owner)}: active ${active.version} is for base model ${active.baseModelId}; gate vs base`,
    );
    return null;
  }
  const [config, weights] = await Promise.all([
    ctx.store.get(active.storagePrefix + ADAPTER_CONFIG),
    ctx.store.get(active.storagePrefix + ADAPTER_WEIGHTS),
  ]);
  if (!config || !weights) throw new Error(`active adapter files missing under ${active.storagePrefix}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, ADAPTER_CONFIG), config);
  await writeFile(join(dir, ADAPTER_WEIGHTS), weights);
  return { dir, version: active.version };
}

const learningRate = (recipe: Recipe) => (recipe.method === 'prefix' ? recipe.prefix.lr : recipe.train.lr);

export async function trainAndPublish(
  ctx: JobContext,
  model: LocalBaseModel,
  recipe: Recipe,
  owners: OwnerData[],
): Promise<{ outcomes: OwnerOutcome[]; failed: OwnerFailure[] }> {
  ctx.progress({ stage: 'preparing', done: 0, total: owners.length });
  const baselines = await Promise.all(
    owners.map((o, i) => fetchBaseline(ctx, o.owner, model, join(ctx.tmpDir, 'baseline', String(i)))),
  );
  const job: TrainerJob = {
    version: 1,
    base_model: model.dir,
    base_model_id: model.id,
    method: recipe.method,
    lora: { r: recipe.lora.r, alpha: recipe.lora.alpha, targets: recipe.lora.targets },
    ...(recipe.method === 'prefix' ? { prefix: { num_virtual_tokens: recipe.prefix.tokens } } : {}),
    train: { ...recipe.train, lr: learningRate(recipe) },
    users: owners.map((o, i) => ({
      id: String(i),
      out_dir: join(ctx.tmpDir, 'out', String(i)),
      train: o.dataset.train,
      heldout: o.dataset.heldout,
      ...(recipe.train.unlikelihood > 0 && o.dataset.dislikes?.length
        ? { dislikes: o.dataset.dislikes }
        : {}),
      ...(baselines[i] ? { baseline_adapter: baselines[i].dir } : {}),
      ...(o.general?.length ? { general: o.general } : {}),
    })),
  };
  ctx.log(
    `training ${owners.length} adapter(s) on ${model.id}: ${owners.map((o) => ownerLabel(o.owner)).join(', ')}`,
  );
  let result: Awaited<ReturnType<typeof runTrainer>>;
  const curve: [number, number][] = []; // the job's live loss curve, kept in its progress
  try {
    result = await runTrainer(job, {
      ...ctx.trainer,
      signal: ctx.signal,
      onProgress: (p: TrainerProgress) => {
        if (p.loss !== undefined && curve.at(-1)?.[0] !== p.done) curve.push([p.done, round4(p.loss)]);
        ctx.progress({
          stage: 'train',
          done: p.done,
          total: p.total,
          eta_s: p.eta_s,
          ...(p.loss !== undefined ? { loss: p.loss } : {}),
          ...(p.active !== undefined ? { active: p.active } : {}),
          curve: [...curve],
        });
      },
      onLog: (line) => ctx.log(line),
    });
  } catch (e) {
    if (e instanceof TrainerError && e.permanent) throw new PermanentJobError(e.message);
    throw e;
  }
  const outcomes: OwnerOutcome[] = [];
  const failed: OwnerFailure[] = [];
  for (const [i, o] of owners.entries()) {
    ctx.progress({ stage: 'publishing', done: i, total: owners.length, curve });
    // Erased (their feedback is gone) or opted out while it trained: nothing of theirs is published, nor
    // named here.
    if ('userId' in o.owner && !(await isTrainable(ctx.db, o.owner.appId, o.owner.userId))) {
      ctx.log('a user was erased or opted out while this job trained them: nothing published for them');
      continue;
    }
    try {
      outcomes.push(await publishOne(i, o));
    } catch (e) {
      if (e instanceof ErasedSinceError) {
        ctx.log('a user was erased while this job trained them: nothing published for them');
        continue;
      }
      // One owner's failure is theirs alone: the others publish, and the job records why this one did not.
      const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      ctx.log(`${ownerLabel(o.owner)}: not published, ${reason}`);
      failed.push({ owner: o.owner, reason });
    }
  }
  ctx.progress({ stage: 'done', done: owners.length, total: owners.length, curve });
  return { outcomes, failed };

  async function publishOne(i: number, o: OwnerData): Promise<OwnerOutcome> {
    const r = result.users.find((u) => u.id === String(i));
    if (!r) throw new Error(`the trainer returned no result for ${ownerLabel(o.owner)}`);
    const base = baselines[i];
    const gate = passesGate(r, recipe.gate.minDelta, recipe.train.general_tolerance);
    const baseline = base ? `active:${base.version}` : 'base';
    const metrics: AdapterMetrics = {
      train_loss_before: r.train_loss_before,
      train_loss_after: r.train_loss_after,
      heldout_loss_before: r.heldout_loss_before,
      heldout_loss_after: r.heldout_loss_after,
      baseline_heldout_loss: gate.baseline,
      baseline,
      ...(guarded(r)
        ? { general_loss_before: r.general_loss_before, general_loss_after: r.general_loss_after }
        : {}),
      gate: {
        passed: gate.passed,
        min_delta: recipe.gate.minDelta,
        ...(guarded(r) ? { general_tolerance: recipe.train.general_tolerance } : {}),
      },
      best_step: r.best_step,
      steps_run: result.steps_run,
      train_examples: r.train_examples,
      heldout_examples: r.heldout_examples,
      seconds: result.seconds,
      device: result.device,
      recipe: {
        method: recipe.method,
        r: recipe.method === 'lora' ? recipe.lora.r : 0,
        alpha: recipe.method === 'lora' ? recipe.lora.alpha : 0,
        ...(recipe.method === 'prefix' ? { prefix_tokens: recipe.prefix.tokens } : {}),
        lr: learningRate(recipe),
        steps: recipe.train.steps,
      },
      curve: ownerCurve(result.history ?? [], i),
      ...o.metrics,
    };
    const [config, weights] = await Promise.all([
      readFile(join(r.out_dir, ADAPTER_CONFIG)),
      readFile(join(r.out_dir, ADAPTER_WEIGHTS)),
    ]);
    const published = await publishAdapter(ctx.db, ctx.store, {
      owner: o.owner,
      files: { config, weights },
      baseModel: { id: model.id, hash: model.hash },
      dataHash: await sha256Hex(JSON.stringify([o.dataset.train, o.dataset.heldout])),
      metrics,
      promote: gate.passed,
      dataUntil: o.dataUntil ?? null,
      jobId: ctx.job.id,
      ...(o.fence ? { fence: o.fence } : {}),
    });
    const verdict = gate.passed ? 'promoted' : 'rejected';
    ctx.log(
      `${ownerLabel(o.owner)}: ${published.adapter.version} ${verdict} (held-out ${r.heldout_loss_after.toFixed(4)} vs ${baseline} ${gate.baseline.toFixed(4)})`,
    );
    return {
      app: o.owner.appId,
      ...('userId' in o.owner ? { user: o.owner.userId } : { style: o.owner.styleId }),
      version: published.adapter.version,
      status: gate.passed ? 'active' : 'rejected',
      heldout_loss_after: r.heldout_loss_after,
      baseline_heldout_loss: gate.baseline,
      baseline,
    };
  }
}
