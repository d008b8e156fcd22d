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
