// The demo's report says plainly which readers the gate rejected and why, and shows no change for them.
import { describe, expect, it } from 'vitest';
import { formatReport, type PersonalizationReport, type ReaderReport } from './personalization.js';

const reader = (over: Partial<ReaderReport>): ReaderReport => ({
  reader: 'cn13',
  story: 'cn13',
  genre: 'adventure',
  recurrences: 14,
  feedback: 20,
  outcome: {
    app: 'app_1',
    user: 'cn13',
    version: 'v1',
    status: 'active',
    heldout_loss_after: 4.9,
    baseline_heldout_loss: 5.0,
    baseline: 'base',
  },
  version: 'v1',
  ownBefore: 5.195,
  ownAfter: 5.065,
  ownChangePct: -2.5,
  memoryAfter: 5.1,
  memoryChangePct: -1.83,
  bothAfter: 5.0,
  bothChangePct: -3.75,
  otherChangePct: 0.43,
  specificityPts: 2.93,
  generalChangePct: 0.2,
  namesBefore: 0,
  namesAfter: 1,
  namesMemory: 2,
  namesBoth: 3,
  sample: { prompt: 'p', base: 'b', adapter: 'a' },
  ...over,
});

describe('formatReport', () => {
  it('shows the promoted readers’ change and names the rejected ones with the gate’s numbers', () => {
    const report: PersonalizationReport = {
      readers: [
        reader({}),
        reader({
          reader: 'ck02',
          version: null,
          ownAfter: 5.195,
          ownChangePct: 0,
          outcome: {
            ...(reader({}).outcome as NonNullable<ReaderReport['outcome']>),
            user: 'ck02',
            version: 'v2',
            status: 'rejected',
            heldout_loss_after: 4.71,
            baseline_heldout_loss: 4.7,
          },
        }),
      ],
      generalPassages: 24,
      seconds: { feedback: 2, training: 100, measuring: 20 },
      jobs: [],
    };
    const text = formatReport(report, 4);
    const [cn13, ck02] = ['cn13', 'ck02'].map((r) => text.split('\n').find((l) => l.startsWith(r)) ?? '');
    expect(cn13).toMatch(/v1 promoted .* -2\.50% +-1\.83% +-3\.75% .* \+2\.93 pts/);
    expect(cn13).toMatch(/0 → 1, 2, 3$/);
    // Memory needs no adapter: a rejected reader still has a memory row, and no adapter or both row.
    expect(ck02).toMatch(/base model +- +-1\.83% +- /);
    expect(ck02).toContain('v2 REJECTED');
    expect(ck02).toContain('base model');
    expect(ck02).not.toMatch(/0\.00/);
    expect(text).toContain('1 of 2 readers got a new adapter.');
    expect(text).toContain(
      "ck02: v2 was REJECTED by the gate: its held-out loss 4.7100 did not beat the base model's 4.7000, so the base model keeps serving this reader.",
    );
  });
});
