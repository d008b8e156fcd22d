// Prometheus metrics in the text exposition format (0.0.4), rendered in one place: counters and histograms
// kept here, gauges read at scrape time, and collectors that turn state kept elsewhere (the engine's counters,
// its adapter cache) into families. Per process or isolate. Label values are escaped as the format requires.

export type Labels = Record<string, string>;

export type Sample = { labels?: Labels; value: number };

/** One metric family: its HELP and TYPE once, then its samples. */
export type Family =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: Sample[] }
  | {
      name: string;
      help: string;
      type: 'histogram';
      series: { labels?: Labels; buckets: { le: number; count: number }[]; sum: number; count: number }[];
    };

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels = {}, extra?: [string, string]): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(String(labels[k]))}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

const num = (v: number) =>
  Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';

export function renderFamilies(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === 'histogram') {
      for (const s of f.series) {
        for (const b of s.buckets)
          lines.push(`${f.name}_bucket${labelText(s.labels, ['le', num(b.le)])} ${b.count}`);
        lines.push(`${f.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
        lines.push(`${f.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
        lines.push(`${f.name}_count${labelText(s.labels)} ${s.count}`);
      }
    } else {
      for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${num(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const keyOf = (labels: Labels) =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels: { ...labels }, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  family(): Family {
    return { name: this.name, help: this.help, type: 'counter', samples: [...this.values.values()] };
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const k = keyOf(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (const [i, b] of this.buckets.entries()) if (value <= b) (s.counts[i] as number)++;
    s.sum += value;
    s.count++;
  }

  family(): Family {
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      series: [...this.series.values()].map((s) => ({
        labels: s.labels,
        buckets: this.buckets.map((le, i) => ({ le, count: s.counts[i] as number })),
        sum: s.sum,
        count: s.count,
      })),
    };
  }
}

export class Registry {
  private readonly owned: (Counter | Histogram)[] = [];
  private readonly collectors: (() => Family[])[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.owned.push(c);
    return c;
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.owned.push(h);
    return h;
  }

  gauge(name: string, help: string, value: () => number): void {
    this.collect(() => [{ name, help, type: 'gauge', samples: [{ value: value() }] }]);
  }

  /** Families read from elsewhere at each scrape. */
  collect(collector: () => Family[]): void {
    this.collectors.push(collector);
  }

  families(): Family[] {
    return [...this.owned.map((m) => m.family()), ...this.collectors.flatMap((c) => c())];
  }

  render(): string {
    return renderFamilies(this.families());
  }
}
