// A token bucket per key (an API key, a user), in the memory of one process or isolate. At the edge each
// isolate limits on its own: a soft limit against bursts, not a global quota (that would need a shared store).
// Each call names the bucket's size (requests per minute): apps set their own limits.

export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  /** Seconds until one more request would be allowed (0 when allowed). */
  retryAfter: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token from `key`'s bucket of `perMinute` (0 = unlimited). */
  take(key: string, perMinute: number): RateLimitDecision {
    if (perMinute <= 0) return { allowed: true, remaining: Number.POSITIVE_INFINITY, retryAfter: 0 };
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
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, remaining: Math.floor(b.tokens), retryAfter: 0 };
    }
    return { allowed: false, remaining: 0, retryAfter: Math.ceil((1 - b.tokens) / ratePerMs / 1000) };
  }

  /** Gives back a token taken for a request that another limit then refused. */
  refund(key: string, perMinute: number): void {
    const b = this.buckets.get(key);
    if (b && perMinute > 0) b.tokens = Math.min(perMinute, b.tokens + 1);
  }
}
