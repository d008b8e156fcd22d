// Continuous batching of decode steps. Generations that run at the same time decode together: one decoder
// run per group of rows, every row with its own adapter, KV cache, position and attention mask. A row joins at
// the next step after its prefill (which runs alone) and leaves as soon as it ends; nothing waits for a batch
// to fill.
//
// Layout of a group: the KV cache is one tensor per layer [B, K, S, D]; a row of `len` cached positions holds
// the last `len` columns and is left-padded with zeros, masked out. Positions are the row's own. The LoRA
// pairs carry a batch axis ([B, r, in], [B, out, r]): each row its own adapter, a smaller rank (or none)
// zero-padded to the group's, which is exact. Rows of very different ranks go to different groups, so one
// rank-64 row does not make seven rank-8 rows pay for 64 (see `partition`).
//
// A round runs when every row that is decoding has asked for its next step (they all do within a turn of the
// event loop: sampling is synchronous), led by one of the waiting rows in its own call. Membership changes
// (joins, leaves) regroup the rows at the start of a round; a stable batch passes each run's output cache
// straight to the next run.
import { batchLora, mergeCaches, partition, sliceRow } from './batch-layout.js';
import type { DecoderLike, KVCache, LoraInputs } from './decoder.js';
import { yieldToEventLoop } from './yield.js';

export interface BatchOptions {
  /** Rows decoded in one run at most. 1: every generation runs alone, round-robin with the others. */
  maxBatch?: number;
  /**
   * When nothing is decoding, how long the first request may wait for others to start a batch with it, in
   * milliseconds (it starts sooner when `maxBatch` rows are ready). Default 0: at once. Once a batch runs,
   * newcomers join it at its next step without waiting.
   */
  maxWaitMs?: number;
  /**
   * A prefill longer than this many tokens runs in chunks of it, the KV cache carried from one to the next, with
   * the event loop let in between: the other rows' decode rounds run there, so one long prompt never stalls them
   * for its whole prefill. Default 64 (measured: a 200-token prefill beside a decoding row, its longest gap
   * between tokens 392 ms in one run, 229–257 ms in chunks of 128, 86–96 ms in chunks of 32; the prefill 0–20 % longer).
   */
  prefillChunk?: number;
}

/** How long a waiting row's keep-alive timer lasts (see `step`): far beyond any round. */
const KEEP_WAITING_MS = 5 * 60_000;

/** What wakes a waiting row: its logits, its error, or the turn to lead the round. */
type Wake = { kind: 'logits'; logits: Float32Array } | { kind: 'error'; error: unknown } | { kind: 'lead' };

interface Pending {
  tok: number;
  wake: (w: Wake) => void;
}

/** One generation's place in the batcher. */
export class DecodeRow {
  /** Its own cache (batch 1) while outside a group. */
  kv: KVCache | null = null;
  /** Positions cached, a prefix's included. */
  len = 0;
  /** Position id of the next token. */
  position = 0;
  group: Group | null = null;
  pending: Pending | null = null;
  /** When it last asked to join (performance.now()). */
  since = 0;
  closed = false;
  /** The largest rank of its LoRA pairs (0: none). */
  readonly rank: number;

  constructor(
    readonly id: number,
    readonly lora: LoraInputs | undefined,
  ) {
    let r = 0;
    for (const [name, t] of Object.entries(lora ?? {}))
      if (name.endsWith('.lora_A.weight')) r = Math.max(r, t.dims[1] ?? 0);
    this.rank = r;
  }
}

interface Group {
  /** The rows decoding in it, in slot order. */
  rows: DecodeRow[];
  /** The rows its cache holds, in slot order: `rows` and the rows that left since it was built. */
  slots: DecodeRow[];
  /**
   * Slots of rows that left, by index: they keep decoding a padding token, unread, until the group is rebuilt
   * (at the next join, or when they outnumber the live rows): a leave costs a row of work per step instead of
   * copying every cache and adapter of the group.
   */
  ghosts: Map<number, { len: number; position: number }>;
  /** [B, K, S, D] per layer, one row per slot. */
  kv: KVCache;
  /** S: columns of the cache. */
  width: number;
  lora: LoraInputs | undefined;
  /** More ghosts than live rows: rebuild before the next run. */
  dirty: boolean;
}

export interface BatchMetrics {
  maxBatch: number;
  /** Decoder runs of decode steps, and the rows they carried (rows / runs = mean batch size). */
  runs: number;
  rows: number;
  /** Slots of rows that had left, decoded unread in those runs (see Group.ghosts). */
  ghostRows: number;
  /** Rounds that rebuilt groups (joins, leaves). */
  regroups: number;
  /** Rows decoding now. */
  active: number;
}

export class Batcher {
  readonly maxBatch: number;
  private groups: Group[] = [];
  private joining: DecodeRow[] = [];
  private leading = false;
  private readonly maxWaitMs: number;
  private readonly prefillChunk: number;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 0;
  private readonly counts = { runs: 0, rows: 0, ghostRows: 0, regroups: 0 };

  constructor(
    private readonly decoder: DecoderLike,
    opts: BatchOptions = {},
  ) {
    const m = opts.maxBatch ?? 16;
    if (!(Number.isSafeInteger(m) && m >= 1)) throw new RangeError('maxBatch must be an integer ≥ 1');
    this.maxBatch = m;
    const w = opts.maxWaitMs ?? 0;
    if (!(Number.isFinite(w) && w >= 0)) throw new RangeError('maxWaitMs must be ≥ 0');
    this.maxWaitMs = w;
    const c = opts.prefillChunk ?? decoder.prefillChunk ?? 64;
    if (!(Number.isSafeInteger(c) && c >= 1)) throw new RangeError('prefillChunk must be an integer ≥ 1');
    this.prefillChunk = c;
  }

  open(lora: LoraInputs | undefined): DecodeRow {
    return new DecodeRow(this.nextId++, lora);
  }

  /**
   * Runs `ids` for this row alone (a prompt, or the window again after a slide: the row leaves its group
   * first), after `past` (a prefix's keys and values) when given; the first id is at position `start`.
   * Returns the last position's logits.
   */
  async prefill(row: DecodeRow, ids: number[], start: number, past?: KVCache): Promise<Float32Array> {
    this.detach(row);
    this.handOff(); // the rows left behind may all be waiting
    const v = this.decoder.shape.vocabSize;
    let kv = past;
    let logits: Float32Array | undefined;
    for (let at = 0; at < ids.length; at += this.prefillChunk) {
      if (at > 0) await yieldToEventLoop(); // the other rows' rounds run here
      const chunk = ids.slice(at, at + this.prefillChunk);
      const res = await this.decoder.run({
        lastOnly: true,
        ids: [chunk],
        start: start + at,
        ...(kv ? { past: kv } : {}),
        lora: row.lora,
      });
      kv = res.present;
      logits = res.logits.subarray(res.logits.length - v); // the last position's (all or only it were given)
    }
    if (!kv || !logits) throw new RangeError('prefill of no tokens');
    row.kv = kv;
    row.len = (past?.[0]?.key.dims[2] ?? 0) + ids.length;
    row.position = start + ids.length;
    return logits;
  }

  /** Decodes `tok` as the row's next position with whichever rows decode at the same time. */
  async step(row: DecodeRow, tok: number): Promise<Float32Array> {
    if (row.closed) throw new Error('the row is closed');
    if (!row.group && !row.kv) throw new Error('prefill before stepping');
    const wake = new Promise<Wake>((resolve) => {
      row.pending = { tok, wake: resolve };
    });
    if (!row.group) {
      row.since = performance.now();
      this.joining.push(row);
    }
    this.handOff();
    // While it waits, the row keeps a timer of its own pending: on Workers a request with nothing pending in
    // its own context is taken for hung and cancelled, and its wake comes from another request's call.
    const keep = setTimeout(() => {}, KEEP_WAITING_MS);
    let w: Wake;
    try {
      w = await wake;
    } finally {
      clearTimeout(keep);
    }
    const r = w.kind === 'lead' ? await this.lead(row) : w;
    if (r.kind === 'error') throw r.error;
    return (r as { logits: Float32Array }).logits;
  }

  /** The generation is over: the row leaves at once. */
  close(row: DecodeRow): void {
    if (row.closed) return;
    row.closed = true;
    this.detach(row);
    this.joining = this.joining.filter((r) => r !== row);
    row.kv = null;
    this.handOff();
  }

  metrics(): BatchMetrics {
    const active = this.groups.reduce((n, g) => n + g.rows.length, 0) + this.joining.length;
    return { maxBatch: this.maxBatch, ...this.counts, active };
  }

  private detach(row: DecodeRow): void {
    const g = row.group;
    if (!g) return;
    g.ghosts.set(g.slots.indexOf(row), { len: row.len, position: row.position });
    g.rows = g.rows.filter((r) => r !== row);
    row.group = null;
    if (g.rows.length === 0) this.groups = this.groups.filter((x) => x !== g);
    else if (g.ghosts.size > g.rows.length) g.dirty = true;
  }

  /**
   * When every decoding row is waiting for its step and no round runs, one of them is woken to lead the
   * round: the round runs in that row's own call (on Workers, in its own request's context: a round started
   * from a request that is finishing would be cancelled with it, and every other row would hang).
   */
  private handOff(): void {
    if (this.leading) return;
    const rows = [...this.groups.flatMap((g) => g.rows), ...this.joining];
    if (rows.length === 0 || rows.some((r) => !r.pending)) return;
    if (this.groups.length === 0 && this.maxWaitMs > 0 && this.joining.length < this.maxBatch) {
      const left = this.maxWaitMs - (performance.now() - (this.joining[0] as DecodeRow).since);
      if (left > 0) {
        this.waitTimer ??= setTimeout(() => {
          this.waitTimer = null;
          this.handOff();
        }, left);
        return;
      }
    }
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    const leader = rows[0] as DecodeRow;
    const p = leader.pending as Pending;
    this.leading = true;
    const wake = p.wake;
    p.wake = () => {}; // the leader gets its logits from lead(), not from a wake
    wake({ kind: 'lead' });
  }

  /** One round: every group's step, each row's logits to it; the leader's returned. */
  private async lead(leader: DecodeRow): Promise<Wake> {
    let mine: Wake = { kind: 'error', error: new Error('the leading row was not in the round') };
    try {
      if (this.joining.length > 0 || this.groups.some((g) => g.dirty)) {
        try {
          this.regroup();
        } catch (error) {
          // Nothing can run with groups half rebuilt: every waiting row fails rather than waits forever.
          const rows = [...this.groups.flatMap((g) => g.rows), ...this.joining];
          this.groups = [];
          this.joining = [];
          for (const r of rows) {
            r.group = null;
            const p = r.pending;
            r.pending = null;
            if (r === leader) mine = { kind: 'error', error };
            else p?.wake({ kind: 'error', error });
          }
          return mine;
        }
      }
      for (const g of this.groups) {
        const rows = g.rows;
        const pendings = rows.map((r) => r.pending as Pending);
        const tokens = g.slots.map((r, b) => (g.ghosts.has(b) ? 0 : (r.pending as Pending).tok));
        for (const r of rows) r.pending = null;
        let wakes: Wake[];
        try {
          const out = await this.run(g, tokens);
          const v = this.decoder.shape.vocabSize;
          for (const r of rows) {
            r.len++;
            r.position++;
          }
          wakes = rows.map((r) => {
            const b = g.slots.indexOf(r);
            return { kind: 'logits', logits: out.subarray(b * v, (b + 1) * v) };
          });
        } catch (error) {
          // The group's caches are gone with the failed run: its rows fail (their generations end).
          this.groups = this.groups.filter((x) => x !== g);
          for (const r of rows) r.group = null;
          wakes = rows.map(() => ({ kind: 'error', error }));
        }
        rows.forEach((r, b) => {
          const w = wakes[b] as Wake;
          if (r === leader) mine = w;
          else (pendings[b] as Pending).wake(w);
        });
      }
    } finally {
      this.leading = false;
    }
    this.handOff();
    return mine;
  }

  /** One step of every slot (`tokens` by slot); the logits [slots, V]. */
  private async run(g: Group, tokens: number[]): Promise<Float32Array> {
    const state = g.slots.map((r, b) => g.ghosts.get(b) ?? r);
    const mask: number[][] = state.map(({ len }) => {
      const m = new Array<number>(g.width + 1).fill(1);
      m.fill(0, 0, g.width - len);
      return m;
    });
    const res = await this.decoder.run({
      ids: tokens.map((t) => [t]),
      positions: state.map((s) => s.position),
      past: g.kv,
      lora: g.lora,
      attentionMask: mask,
    });
    this.counts.runs++;
    this.counts.rows += g.rows.length;
    this.counts.ghostRows += g.ghosts.size;
    for (const ghost of g.ghosts.values()) {
      ghost.len++;
      ghost.position++;
    }
    g.kv = res.present;
    g.width++;
    return res.logits;
  }

  /** Every decoding row (all asking for a step), grouped anew; unchanged groups keep their caches. */
  private regroup(): void {
    this.counts.regroups++;
    const rows = [...this.groups.flatMap((g) => g.rows), ...this.joining];
    this.joining = [];
    const old = this.groups;
    const parts = partition(rows, this.maxBatch);
    const next: Group[] = [];
    for (const part of parts) {
      const same = old.find(
        (g) => !g.dirty && g.rows.length === part.length && g.rows.every((r, i) => r === part[i]),
      );
      if (same) {
        next.push(same);
        continue;
      }
      next.push(this.merge(part));
    }
    for (const g of next) for (const r of g.rows) r.group = g;
    this.groups = next;
  }

  /** A new group of these rows: each row's cache taken out of its old group (or its own), left-padded. */
  private merge(rows: DecodeRow[]): Group {
    const caches = rows.map((r) => ownCache(r));
    const width = Math.max(...rows.map((r) => r.len));
    const kv =
      rows.length === 1 && (rows[0] as DecodeRow).len === width
        ? (caches[0] as KVCache)
        : mergeCaches(
            caches,
            rows.map((r) => r.len),
            width,
          );
    for (const r of rows) r.kv = null;
    return { rows, slots: rows, ghosts: new Map(), kv, width, lora: batchLora(rows), dirty: false };
  }
}

/** The row's cache alone ([1, K, len, D] per layer), from its group or its own. */
function ownCache(row: DecodeRow): KVCache {
  if (row.kv) return row.kv;
  const g = row.group as Group;
  const b = g.slots.indexOf(row);
  if (g.slots.length === 1 && g.width === row.len) return g.kv;
  return g.kv.map(({ key, value }) => ({
    key: sliceRow(key, b, g.width, row.len),
    value: sliceRow(value, b, g.width, row.len),
  }));
}
