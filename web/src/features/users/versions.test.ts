import { describe, expect, it } from 'vitest';
import type { AdapterItem } from '../../lib/types';
import { rollbackTarget, versionRows } from './versions';

const version = (v: string, o: Partial<AdapterItem> = {}): AdapterItem => ({
  id: `ad_${v}`,
  kind: 'user',
  user: 'ada',
  style: null,
  version: v,
  status: 'retired',
  metrics: {},
  storage_prefix: `adapters/app/ada/${v}/`,
  base_model: 'brown-4m',
  created_at: `2026-12-01T00:00:0${v.slice(1)}Z`,
  promoted_at: null,
  ...o,
});

describe('adapter versions', () => {
  it('charts oldest first, with the previous version only where a version was judged against one', () => {
    const rows = versionRows([
      version('v2', {
        metrics: {
          heldout_loss_before: 5,
          heldout_loss_after: 4.5,
          baseline: 'active:v1',
          baseline_heldout_loss: 4.7,
        },
      }),
      version('v1', {
        metrics: {
          heldout_loss_before: 5,
          heldout_loss_after: 4.8,
          baseline: 'base',
          baseline_heldout_loss: 5,
        },
      }),
      version('v3'), // imported or still training: no held-out losses, not on the chart
    ]);
    expect(rows).toEqual([
      { version: 'v1', Base: 5, 'This version': 4.8, 'Previous version': null },
      { version: 'v2', Base: 5, 'This version': 4.5, 'Previous version': 4.7 },
    ]);
  });

  it('rolls back to the retired version promoted last', () => {
    const target = rollbackTarget([
      version('v3', { status: 'active', promoted_at: '2026-12-01T03:00:00Z' }),
      version('v2', { status: 'retired', promoted_at: '2026-12-01T02:00:00Z' }),
      version('v1', { status: 'retired', promoted_at: '2026-12-01T01:00:00Z' }),
      version('v4', { status: 'rejected' }),
    ]);
    expect(target?.version).toBe('v2');
    expect(
      rollbackTarget([version('v1', { status: 'active', promoted_at: '2026-12-01T01:00:00Z' })]),
    ).toBeNull();
  });
});
