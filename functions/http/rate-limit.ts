// A token bucket per key (an API key, a user), in the memory of one process or isolate. At the edge each
// isolate limits on its own: a soft limit against bursts, not a global quota (that would need a shared store).
// Each call names the bucket's size (units per minute): apps set their own limits. A request takes as many
// units as the work it asks for (services.ts says what costs what), so one call cannot buy 16 calls' work.

export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  /** Seconds until this request's units would be there (0 when allowed). */
  retryAfter: number;
  /** The units taken (or that were missing): the cost asked, at most the bucket's size. */
  units: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /**
   * Takes `units` from `key`'s bucket of `perMinute` (0 = unlimited), all or nothing. A cost over the bucket's
   * size is taken as the whole bucket: such a request still passes once the bucket is full (then empties it),
   * where refusing it would make it impossible at any pace.
   */
  take(key: string, perMinute: number, units = 1): RateLimitDecision {
    if (perMinute <= 0) return { allowed: true, remaining: Number.POSITIVE_INFINITY, retryAfter: 0, units };
    const cost = Math.min(Math.max(1, Math.ceil(units)), perMinute);
    const t = this.now();
    const ratePerMs = perMinute / 60_000;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * ratePerMs);
      b.at = t;
      this.buckets.delete(key); // re-insert: the map's order is least recently used first
    } else {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: perMinute, at: t };
    }
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { allowed: true, remaining: Math.floor(b.tokens), retryAfter: 0, units: cost };
    }
    const retryAfter = Math.ceil((cost - b.tokens) / ratePerMs / 1000);
    return { allowed: false, remaining: Math.floor(b.tokens), retryAfter, units: cost };
  }

  /** Gives back the units taken for a request that another limit then refused. */
  refund(key: string, perMinute: number, units = 1): void {
    const b = this.buckets.get(key);
    if (b && perMinute > 0) b.tokens = Math.min(perMinute, b.tokens + units);
  }
}
