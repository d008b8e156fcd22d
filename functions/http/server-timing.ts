// Where a request's time goes, in the conventional place: a `Server-Timing` header (W3C Server Timing) on the
// answer, one entry per stage in the order they ran — `auth;dur=0.21, settings;dur=0.02, resolve;dur=0.4, …`.
// Browsers' developer tools chart it; the request-path benchmark (bench/request-path.ts) reads it. Stages that
// ran side by side (the adapters' resolution and the memory's recall) each carry their own duration.

/** A request's stages and their milliseconds, in the order they were recorded. */
export class StageTimes {
  private readonly stages: [string, number][] = [];

  /** `since`: when the request arrived (performance.now()); the header then ends with the `total` so far. */
  constructor(private readonly since?: number) {}

  /** Records `ms` under `name` (a repeated name adds up). */
  add(name: string, ms: number): void {
    const at = this.stages.find(([n]) => n === name);
    if (at) at[1] += ms;
    else this.stages.push([name, ms]);
  }

  /** Runs `work` and records its duration under `name`. */
  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  /** Times a synchronous step. */
  timeSync<T>(name: string, work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  get(name: string): number | undefined {
    return this.stages.find(([n]) => n === name)?.[1];
  }

  header(): string {
    const stages: [string, number][] =
      this.since === undefined ? this.stages : [...this.stages, ['total', performance.now() - this.since]];
    return stages.map(([name, ms]) => `${name};dur=${Math.round(ms * 100) / 100}`).join(', ');
  }
}

/** The stages of a `Server-Timing` header (what StageTimes.header wrote), by name. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.map((p) => /^dur=([\d.]+)$/.exec(p.trim())?.[1]).find((d) => d !== undefined);
    if (name && dur !== undefined) out[name] = Number(dur);
  }
  return out;
}
