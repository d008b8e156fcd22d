// A user's adapter versions as the chart and the table read them: oldest first, with the held-out loss of
// the base model, of this version and of the version it was judged against (the one active before).
import type { AdapterItem } from '../../lib/types';

export interface VersionRow {
  version: string;
  Base: number | null;
  'This version': number | null;
  'Previous version': number | null;
}

const r4 = (x: number | undefined) => (x === undefined ? null : Math.round(x * 1e4) / 1e4);

export function versionRows(adapters: AdapterItem[]): VersionRow[] {
  return [...adapters]
    .sort((a, b) => a.created_at.localeCompare(b.created_at))
    .filter((a) => a.metrics.heldout_loss_after !== undefined)
    .map((a) => {
      const m = a.metrics;
      const againstPrevious = typeof m.baseline === 'string' && m.baseline.startsWith('active:');
      return {
        version: a.version,
        Base: r4(m.heldout_loss_before),
        'This version': r4(m.heldout_loss_after),
        'Previous version': againstPrevious ? r4(m.baseline_heldout_loss) : null,
      };
    });
}

/**
 * How much worse (or better) each guarded version predicts general text than the base model, in percent,
 * oldest first: the trainer keeps a step only within `gate.general_tolerance` of it. Versions without the guard's
 * losses (styles, imports, older versions) are left out.
 */
export function generalChange(m: AdapterItem['metrics']): number | null {
  const before = m.general_loss_before;
  const after = m.general_loss_after;
  if (before === undefined || after === undefined || !(before > 0)) return null;
  return Math.round((after / before - 1) * 1e5) / 1e3;
}

export interface DriftRow {
  version: string;
  'General text': number;
}

export function driftRows(adapters: AdapterItem[]): DriftRow[] {
  return [...adapters]
    .sort((a, b) => a.created_at.localeCompare(b.created_at))
    .flatMap((a) => {
      const x = generalChange(a.metrics);
      return x === null ? [] : [{ version: a.version, 'General text': x }];
    });
}

/** The tolerance the newest guarded version was held to, in percent (null: none was guarded). */
export function driftTolerance(adapters: AdapterItem[]): number | null {
  const guarded = adapters
    .filter((a) => a.metrics.gate?.general_tolerance !== undefined)
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  const t = guarded[0]?.metrics.gate?.general_tolerance;
  return t === undefined ? null : t * 100;
}

/** From 0 (the base model) or below, up to the tolerance or above: a drift is read against both. */
export function driftDomain(rows: DriftRow[], tolerance: number | null): [number, number] {
  const xs = rows.map((r) => r['General text']);
  const lo = Math.min(0, ...xs);
  const hi = Math.max(tolerance ?? 0, ...xs);
  const pad = (hi - lo) * 0.1 || 0.1;
  return [Math.round((lo - (lo < 0 ? pad : 0)) * 100) / 100, Math.round((hi + pad) * 100) / 100];
}

/** The version a rollback returns to: the newest retired one (what was active before the active one). */
export function rollbackTarget(adapters: AdapterItem[]): AdapterItem | null {
  const retired = adapters.filter((a) => a.status === 'retired' && a.promoted_at !== null);
  retired.sort((a, b) => (b.promoted_at ?? '').localeCompare(a.promoted_at ?? ''));
  return retired[0] ?? null;
}

export const STATUS_COLOR: Record<string, string> = {
  active: 'teal',
  candidate: 'blue',
  training: 'gray',
  rejected: 'orange',
  retired: 'gray',
};

/** What a version is, from the recipe it was trained with: "LoRA r8" or "prefix 16" (null when not recorded). */
export function methodLabel(m: AdapterItem['metrics']): string | null {
  const recipe = m.recipe;
  if (!recipe) return null;
  if (recipe.method === 'prefix') return `prefix ${recipe.prefix_tokens ?? '?'}`;
  return `LoRA r${recipe.r}`;
}
