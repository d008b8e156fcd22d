// Erasure fences for what a process keeps in memory. Work that began before an erasure (an adapter load in
// flight, a generation still decoding) finishes for the request that started it, but must leave nothing of the
// erased user behind: a load that lands after the erasure is not cached, a generation that ends after it does
// not heat (or merge) the user's adapter set. Each erasure raises a fence over the keys it covers; work records
// the fence count when it starts and asks, before it keeps anything, whether a fence over its key went up since.

/** How long a fence is remembered: far longer than any load or generation runs. */
const FENCE_TTL_MS = 10 * 60_000;
const MAX_FENCES = 10_000;

export class Fences {
  private raised = 0;
  private readonly recent: { seq: number; at: number; covers: (key: string) => boolean }[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Where work that starts now stands: pass it to `crossed` when the work is done. */
  mark(): number {
    return this.raised;
  }

  /** Raises a fence over every key `covers` matches. */
  raise(covers: (key: string) => boolean): void {
    const t = this.now();
    while (
      this.recent.length > 0 &&
      ((this.recent[0]?.at ?? t) < t - FENCE_TTL_MS || this.recent.length >= MAX_FENCES)
    )
      this.recent.shift();
    this.recent.push({ seq: ++this.raised, at: t, covers });
  }

  /** Whether a fence over `key` went up after `mark`. */
  crossed(key: string, mark: number): boolean {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const f = this.recent[i] as (typeof this.recent)[number];
      if (f.seq <= mark) break;
      if (f.covers(key)) return true;
    }
    return false;
  }
}
