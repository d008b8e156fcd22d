// Loaded adapters kept in memory: an LRU bounded by bytes, keyed by an immutable version key (a version's
// files never change, so an entry never goes stale). Loads are single-flight: concurrent requests for a
// cold key share one load; a failed load is not cached, and every waiter gets its error.

export interface CacheMetrics {
  hits: number;
  /** Requests that found no entry (including those that joined a load already in flight). */
  misses: number;
  /** Loader calls actually made. */
  loads: number;
  loadErrors: number;
  evictions: number;
  /** Entries larger than the whole cache: served but not kept. */
  oversize: number;
  /** Loads that finished after their owner was erased: served to their waiters, not kept. */
  fenced: number;
  entries: number;
  bytes: number;
  maxBytes: number;
  /** Load durations in seconds, Prometheus-histogram style (cumulative bucket counts by upper bound). */
  loadSeconds: { buckets: Record<string, number>; sum: number; count: number };
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class AdapterCache<V extends { bytes: number }> {
  private readonly entries = new Map<string, V>(); // insertion order = recency, oldest first
  private readonly inflight = new Map<string, Promise<V>>();
  private held = 0;
  private readonly counts = {
    hits: 0,
    misses: 0,
    loads: 0,
    loadErrors: 0,
    evictions: 0,
    oversize: 0,
    fenced: 0,
  };
  private readonly bucketCounts = new Array<number>(BUCKETS.length + 1).fill(0);
  private loadSum = 0;

  constructor(
    readonly maxBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(maxBytes >= 0)) throw new RangeError('maxBytes must be ≥ 0');
  }

  /**
   * The entry for `key`, loading it with `load` when absent. `keep` is asked once the load is done: false serves
   * the value to whoever waits for it without caching it (the owner was erased while it loaded).
   */
  get(key: string, load: () => Promise<V>, keep: () => boolean = () => true): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.counts.hits++;
      this.entries.delete(key);
      this.entries.set(key, hit);
      return Promise.resolve(hit);
    }
    this.counts.misses++;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const started = this.now();
    this.counts.loads++;
    let loading: Promise<V> | undefined;
    loading = (async () => {
      try {
        const value = await load();
        this.observe((this.now() - started) / 1000);
        if (keep()) this.insert(key, value);
        else this.counts.fenced++;
        return value;
      } catch (e) {
        this.counts.loadErrors++;
        throw e;
      } finally {
        if (this.inflight.get(key) === loading) this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, loading);
    return loading;
  }

  /** The entry if present (counts as neither hit nor miss, and does not refresh recency). */
  peek(key: string): V | undefined {
    return this.entries.get(key);
  }

  delete(key: string): void {
    const v = this.entries.get(key);
    if (!v) return;
    this.entries.delete(key);
    this.held -= v.bytes;
  }

  /**
   * Drops every entry whose key matches (an erased user's versions, and compositions that used them); loads of
   * such keys still in flight are left to their waiters, and a later request starts its own.
   */
  deleteWhere(match: (key: string) => boolean): number {
    for (const key of [...this.inflight.keys()]) if (match(key)) this.inflight.delete(key);
    let n = 0;
    for (const key of [...this.entries.keys()]) {
      if (match(key)) {
        this.delete(key);
        n++;
      }
    }
    return n;
  }

  metrics(): CacheMetrics {
    const buckets: Record<string, number> = {};
    let cum = 0;
    BUCKETS.forEach((le, i) => {
      cum += this.bucketCounts[i] as number;
      buckets[String(le)] = cum;
    });
    cum += this.bucketCounts[BUCKETS.length] as number;
    buckets['+Inf'] = cum;
    return {
      ...this.counts,
      entries: this.entries.size,
      bytes: this.held,
      maxBytes: this.maxBytes,
      loadSeconds: { buckets, sum: this.loadSum, count: cum },
    };
  }

  private insert(key: string, value: V): void {
    if (value.bytes > this.maxBytes) {
      this.counts.oversize++;
      return;
    }
    this.delete(key);
    this.entries.set(key, value);
    this.held += value.bytes;
    for (const [k, v] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(k);
      this.held -= v.bytes;
      this.counts.evictions++;
    }
  }

  private observe(seconds: number): void {
    this.loadSum += seconds;
    const found = BUCKETS.findIndex((le) => seconds <= le);
    const i = found < 0 ? BUCKETS.length : found;
    this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
  }
}
