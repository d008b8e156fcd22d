// A small Prometheus registry: counters and histograms with labels, rendered in the text exposition format.
// Per process (or isolate); gauges read from elsewhere (the engine's adapter cache) are added at render time.

type Labels = Record<string, string>;

const labelKey = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map(
      (k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',');

const fmt = (name: string, labels: string, value: number) =>
  `${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(value) ? value : value > 0 ? '+Inf' : '-Inf'}`;

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) out.push(fmt(this.name, k, v));
    return out;
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) (s.counts[i] as number)++;
    });
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => {
        out.push(fmt(`${this.name}_bucket`, `${sep}le="${b}"`, s.counts[i] as number));
      });
      out.push(fmt(`${this.name}_bucket`, `${sep}le="+Inf"`, s.count));
      out.push(fmt(`${this.name}_sum`, k, s.sum));
      out.push(fmt(`${this.name}_count`, k, s.count));
    }
    return out;
  }
}

export interface Gauge {
  name: string;
  help: string;
  value: () => number;
}

export class Registry {
  private readonly metrics: (Counter | Histogram)[] = [];
  private readonly gauges: Gauge[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.metrics.push(c);
    return c;
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.metrics.push(h);
    return h;
  }

  gauge(name: string, help: string, value: () => number): void {
    this.gauges.push({ name, help, value });
  }

  render(): string {
    const lines = this.metrics.flatMap((m) => m.render());
    for (const g of this.gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, fmt(g.name, '', g.value()));
    }
    return `${lines.join('\n')}\n`;
  }
}
