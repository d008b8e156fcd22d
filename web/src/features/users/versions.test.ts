import { describe, expect, it } from 'vitest';
import type { AdapterItem } from '../../lib/types';
import {
  driftDomain,
  driftRows,
  driftTolerance,
  generalChange,
  methodLabel,
  rollbackTarget,
  versionRows,
} from './versions';

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

  it("charts each guarded version's general-text change against the base model, with its tolerance", () => {
    const guarded = (v: string, before: number, after: number, tolerance: number) =>
      version(v, {
        metrics: {
          general_loss_before: before,
          general_loss_after: after,
          gate: { passed: true, min_delta: 0, general_tolerance: tolerance },
        },
      });
    const adapters = [guarded('v3', 4, 4.01, 0.004), version('v2'), guarded('v1', 4, 3.99, 0.005)];
    expect(driftRows(adapters)).toEqual([
      { version: 'v1', 'General text': -0.25 },
      { version: 'v3', 'General text': 0.25 },
    ]);
    expect(driftTolerance(adapters)).toBe(0.4);
    expect(driftTolerance([version('v1')])).toBeNull();
    expect(generalChange({ general_loss_before: 0, general_loss_after: 1 })).toBeNull();
    // the axis always shows the base model (0) and the tolerance, whatever the versions' spread
    expect(driftDomain([{ version: 'v1', 'General text': 0.42 }], 0.5)).toEqual([0, 0.55]);
    expect(driftDomain([{ version: 'v1', 'General text': -0.2 }], null)).toEqual([-0.22, 0.02]);
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

describe('the method column', () => {
  it('names a LoRA by its rank and a prefix by its virtual tokens', () => {
    const recipe = { r: 8, alpha: 16, lr: 3e-4, steps: 60 };
    expect(methodLabel({ recipe })).toBe('LoRA r8');
    expect(methodLabel({ recipe: { ...recipe, method: 'lora' } })).toBe('LoRA r8');
    expect(methodLabel({ recipe: { ...recipe, method: 'prefix', r: 0, prefix_tokens: 16 } })).toBe(
      'prefix 16',
    );
    expect(methodLabel({})).toBeNull();
  });
});
