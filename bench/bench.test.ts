// The benchmark harness (statistics, interleaving, results record), the tiny ONNX writer, and a smoke run of
// one cheap benchmark in --quick mode through the real entry point. The full run is `npm run bench`.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../core/util/rng.js';
import {
  type BenchResult,
  interleave,
  machineName,
  median,
  percentile,
  speedup,
  stamp,
  validateResults,
  writeResults,
  zipfSampler,
} from './harness.js';
import { hex6 } from './load-client.js';
import { countNodes, tinyModel } from './onnx-proto.js';
import { metricValue, slopeMBPerMin } from './platform.js';
import { goalMet, renderTable } from './report.js';

const root = resolve(import.meta.dirname, '..');

describe('statistics', () => {
  it('median of odd and even counts, unsorted input left alone', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('percentile is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 reversed
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile(xs, 101)).toThrow(RangeError);
  });

  it('speedup is the median of paired ratios (theirs / ours)', () => {
    expect(speedup([1, 2, 4], [2, 2, 12])).toBe(2);
    expect(() => speedup([1], [1, 2])).toThrow(RangeError);
  });

  it('zipf draws favour low ranks and stay in range', () => {
    const draw = zipfSampler(1000, 1, mulberry32(1));
    const counts = new Array<number>(1000).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const k = draw();
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(counts[0] as number).toBeGreaterThan(counts[9] as number);
    expect(counts[0] as number).toBeGreaterThan(2000); // 1/H(1000) ≈ 13%
  });
});

describe('interleave', () => {
  it('warms up unmeasured, then alternates the order every round', async () => {
    const calls: string[] = [];
    const side = (name: string) => ({
      name,
      run: async (measured: boolean) => {
        calls.push(measured ? name : `${name}(warm)`);
        return name.length;
      },
    });
    const s = await interleave([side('a'), side('bb')], 3, 1);
    expect(calls).toEqual(['a(warm)', 'bb(warm)', 'a', 'bb', 'bb', 'a', 'a', 'bb']);
    expect(s).toEqual({ a: [1, 1, 1], bb: [2, 2, 2] });
  });
});

describe('results', () => {
  const good: BenchResult[] = stamp(
    [
      { id: 'x_tokens_per_s', value: 10, unit: 'tokens/s', vs: 'peer', ratio: 1.5, goal: '≥ 1.5×' },
      { id: 'y_ms_lower_is_better', value: 1, unit: 'ms' },
    ],
    machineName(),
    new Date().toISOString(),
  );

  it('the machine names a CPU and its cores', () => {
    expect(machineName()).toMatch(/\(\d+ cores\)$/);
  });

  it('valid results pass; every broken field is named', () => {
    expect(validateResults(good)).toEqual([]);
    expect(validateResults({})).toEqual(['results must be an array']);
    const bad = [
      { ...good[0], value: Number.NaN },
      { ...good[1], ratio: 2 },
      { id: 'x_tokens_per_s', value: 1, unit: '', machine: 'm', date: 'never', extra: 1 },
    ];
    expect(validateResults(bad)).toEqual([
      'results[0].value is not finite',
      'results[1] has a ratio but no vs',
      'results[2].unit is not a string',
      'results[2].date is not a date',
      'results[2] has unknown field extra',
      'results[2].id x_tokens_per_s is repeated',
    ]);
  });

  it('the writer refuses invalid results and round-trips valid ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-'));
    try {
      const path = join(dir, 'r.json');
      await writeResults(path, good);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(good);
      await expect(writeResults(path, [{ ...(good[0] as BenchResult), value: Number.NaN }])).rejects.toThrow(
        /value is not finite/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('report', () => {
  it('goals are checked on the ratio (×) or on the value (units)', () => {
    expect(goalMet({ goal: '≥ 1.5×', ratio: 1.6, value: 1 })).toBe(true);
    expect(goalMet({ goal: '≥ 1.5×', ratio: 1.2, value: 9 })).toBe(false);
    expect(goalMet({ goal: '≤ 10 ms', value: 3 })).toBe(true);
    expect(goalMet({ goal: '≤ 0.2 ms', value: 0.3 })).toBe(false);
    expect(goalMet({ value: 3 })).toBeUndefined();
  });

  it('checks the load goals: counts, rates, fractions and slopes on the value', () => {
    expect(goalMet({ goal: '≤ 0 errors', value: 0 })).toBe(true);
    expect(goalMet({ goal: '≤ 0 errors', value: 1 })).toBe(false);
    expect(goalMet({ goal: '≥ 1500 req/s', value: 1499 })).toBe(false);
    expect(goalMet({ goal: '≥ 1 fraction', value: 1 })).toBe(true);
    expect(goalMet({ goal: '≤ 5 MB/min', value: -0.4 })).toBe(true);
    expect(goalMet({ goal: '≤ 0.05 fraction', value: 0.051 })).toBe(false);
  });

  it('renders one table row per result', () => {
    const t = renderTable(
      stamp(
        [{ id: 'a', value: 2, unit: 'x', vs: 'p', ratio: 0.5, goal: '≥ 0.9×' }],
        'M (2 cores)',
        '2026-01-01',
      ),
    );
    expect(t).toContain('Machine: M (2 cores)');
    expect(t).toContain('| a | 2 | x | p | 0.5 | ≥ 0.9× | **no** |');
  });
});

describe('load benchmark helpers', () => {
  it('the RSS slope is least squares, in MB per minute', () => {
    const flat = Array.from({ length: 30 }, (_, i) => ({ s: i, mb: 500 + (i % 2) }));
    expect(Math.abs(slopeMBPerMin(flat))).toBeLessThan(1); // a 1 MB sawtooth: 0.2 MB/min
    const growing = Array.from({ length: 30 }, (_, i) => ({ s: i, mb: 500 + i / 6 }));
    expect(slopeMBPerMin(growing)).toBeCloseTo(10, 6);
    expect(slopeMBPerMin([{ s: 0, mb: 1 }])).toBe(0);
  });

  it('a metric is summed over its label sets, and only that metric', () => {
    const text = [
      '# HELP tailor_x_total X.',
      'tailor_x_total{reason="a"} 2',
      'tailor_x_total{reason="b"} 3',
      'tailor_x_total_other 100',
      'tailor_y 7',
    ].join('\n');
    expect(metricValue(text, 'tailor_x_total')).toBe(5);
    expect(metricValue(text, 'tailor_y')).toBe(7);
    expect(metricValue(text, 'tailor_z')).toBe(0);
  });

  it('adapter versions name the user in six hex digits', () => {
    expect(hex6(999)).toBe('0003e7');
  });
});

describe('tiny ONNX graphs', () => {
  it('a hand-written MatMul + Add graph runs on onnxruntime-web, and its nodes are counted', async () => {
    const model = tinyModel({
      inputs: [{ name: 'x', dims: ['batch', 2] }],
      initializers: [{ name: 'w', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], output: 'h' },
        { op: 'Add', inputs: ['h', 'h'], output: 'y' },
      ],
      output: { name: 'y', dims: ['batch', 3] },
    });
    expect([...countNodes(model)]).toEqual([
      ['MatMul', 1],
      ['Add', 1],
    ]);
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 0, 1]), [2, 2]) });
    expect(Array.from((out.y as ort.Tensor).data as Float32Array)).toEqual([10, 14, 18, 8, 10, 12]);
    await s.release();
  });
});

describe('npm run bench -- --quick', () => {
  it('runs a cheap benchmark end to end and writes valid results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-'));
    try {
      const out = join(dir, 'results.json');
      execFileSync('npx', ['tsx', 'bench/run.ts', '--quick', '--only', 'adapter-load', '--out', out], {
        cwd: root,
        stdio: 'pipe',
        timeout: 50_000,
      });
      const results = JSON.parse(await readFile(out, 'utf8')) as BenchResult[];
      expect(validateResults(results)).toEqual([]);
      const ids = results.map((r) => r.id);
      expect(ids).toContain('adapter_cold_load_p50_ms_lower_is_better');
      expect(ids).toContain('adapter_warm_lookup_p50_ms_lower_is_better');
      expect(results.every((r) => r.machine === machineName())).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
