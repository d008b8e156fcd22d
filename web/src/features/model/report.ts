// What an import measured (hf_import.py's report, kept on the base as `imported`), as the Model page reads it.
import { num } from '../../lib/format';
import type { BaseModelItem, JobItem } from '../../lib/types';

export interface ImportReport {
  params?: number;
  source_dtype?: string;
  /** max |Δlogits| of the converted graph against transformers, and the most the import allows. */
  parity?: { graph_max_abs_diff?: number; limit?: number; positions?: number };
  /** Per genre of the held-out Brown sample, and `all`. */
  bits_per_byte?: Record<string, { bpb?: number; bytes?: number }>;
  graph_bytes?: number;
  served_context?: number;
  seconds?: number;
}

export const reportOf = (b: BaseModelItem): ImportReport | null => b.imported as ImportReport | null;

export const millions = (n: number | undefined): string => (n === undefined ? '—' : `${num(n / 1e6, 1)} M`);

export function parity(r: ImportReport | null): string {
  const d = r?.parity?.graph_max_abs_diff;
  if (d === undefined) return '—';
  const limit = r?.parity?.limit;
  return `${d.toExponential(2)}${limit !== undefined ? ` (≤ ${limit})` : ''}`;
}

export function bitsPerByte(r: ImportReport | null): string {
  const bpb = r?.bits_per_byte?.all?.bpb;
  return bpb === undefined ? '—' : num(bpb, 3);
}

/** Where an import reads its checkpoint: a server path, or a storage prefix (an upload). */
export function sourceOf(job: JobItem): string {
  const pl = job.payload as { source?: { path?: string; prefix?: string } };
  return pl.source?.path ?? pl.source?.prefix ?? '—';
}

export const nameOf = (job: JobItem): string => (job.payload as { name?: string }).name ?? '—';
