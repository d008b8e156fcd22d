// The webhook deliverer: a loop that claims due deliveries from the outbox (core/db/webhooks.ts), POSTs each
// to its endpoint with a signature, and records how the attempt ended. Any number may run against one
// database (several API processes on PostgreSQL): a claim holds a row under a lease, so no two deliverers
// send the same attempt. A 2xx delivers; anything else (another status, a redirect, no answer within the
// timeout, a refused URL or address) fails the attempt, and it is tried again after the backoff until the last.
// Web APIs only (Web Crypto, timers): the connection is the injected `fetch`'s, which must resolve the host and
// refuse addresses that are not public (on Node: core/node/webhook-fetch.ts). Only Node processes deliver.

import type { WebhookConfig } from '../config.js';
import type { Db } from '../db/database.js';
import {
  type AttemptOutcome,
  type ClaimedDelivery,
  claimWebhookDeliveries,
  finishWebhookAttempt,
} from '../db/webhooks.js';
import { AddressRefusedError } from './address.js';
import { SIGNATURE_HEADER, STANDARD_HEADERS, signStandardWebhook, signWebhook } from './signature.js';
import { webhookUrlProblem } from './url.js';

/** Deliveries claimed per look. */
const BATCH = 16;
/** A claim outlives the attempt's timeout by this much before another deliverer may take the row. */
const LEASE_MARGIN_MS = 30_000;

/** The wait after the `attempt`-th failed attempt (1-based): base × 4^(attempt−1), at most `max`. */
export function backoffMs(attempt: number, c: Pick<WebhookConfig, 'retryBaseMs' | 'retryMaxMs'>): number {
  return Math.min(c.retryMaxMs, c.retryBaseMs * 4 ** Math.max(0, attempt - 1));
}

/**
 * Sends one attempt. It is given the URL as registered (the name stays in it: TLS needs it), and must connect
 * only to addresses it checked, refusing those that are not public (unless the operator allows private ones)
 * with an AddressRefusedError as the failure's cause. A redirect must come back as the answer, not be followed.
 */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface DelivererOptions {
  db: Db;
  config: WebhookConfig;
  fetch: WebhookFetch;
  /** Names this deliverer's claims (default: a random id). */
  workerId?: string;
  /**
   * Subscribes to the invalidation feed's notices (core/db/invalidations.ts): an activation writes its webhook
   * event and its notice in one transaction, so a notice wakes the deliverer, whichever process made the
   * change. None: polling alone.
   */
  listen?: (onNotice: () => void) => Promise<() => Promise<void>>;
  log?: (line: string) => void;
}

export class WebhookDeliverer {
  readonly workerId: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private listening: Promise<(() => Promise<void>) | null> | null = null;

  constructor(private readonly o: DelivererOptions) {
    this.workerId = o.workerId ?? `whd-${crypto.randomUUID()}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    if (this.o.listen) {
      this.listening = this.o
        .listen(() => this.wake())
        .catch((e: unknown) => {
          this.o.log?.(
            `[webhooks] cannot listen (${e instanceof Error ? e.message : String(e)}); polling only`,
          );
          return null;
        });
    }
  }

  /** Looks for due deliveries now (an activation's notice, or a test). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops looking; waits for the attempts in flight (at most the timeout) to be recorded. */
  async stop(): Promise<void> {
    this.running = false;
    const unlisten = await this.listening;
    this.listening = null;
    await unlisten?.().catch(() => {});
    this.wake();
    await this.loop;
    this.loop = null;
  }

  /** One look: claims due deliveries, sends them, records the outcomes. The number attempted. */
  async runOnce(): Promise<number> {
    const c = this.o.config;
    const claimed = await claimWebhookDeliveries(this.o.db, {
      workerId: this.workerId,
      leaseMs: c.timeoutMs + LEASE_MARGIN_MS,
      maxAttempts: c.maxAttempts,
      limit: BATCH,
    });
    await Promise.all(claimed.map((d) => this.deliver(d)));
    return claimed.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n = 0;
      try {
        n = await this.runOnce();
      } catch (e) {
        this.o.log?.(`[webhooks] ${e instanceof Error ? e.message : String(e)}`);
      }
      if (n === 0 && this.running) await this.idle(this.o.config.pollMs);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async deliver(claimed: ClaimedDelivery): Promise<void> {
    const c = this.o.config;
    const { delivery } = claimed;
    const outcome = await this.attempt(claimed);
    const last = delivery.attempts >= c.maxAttempts;
    const recorded: AttemptOutcome = outcome.ok
      ? outcome
      : { ...outcome, retryInMs: last ? null : backoffMs(delivery.attempts, c) };
    if (!outcome.ok) {
      this.o.log?.(
        `[webhooks] ${delivery.id} (${delivery.event}) attempt ${delivery.attempts}/${c.maxAttempts} failed: ${outcome.error}${last ? '; giving up' : ''}`,
      );
    }
    try {
      await finishWebhookAttempt(this.o.db, delivery.id, this.workerId, recorded);
    } catch (e) {
      // The lease runs out and another deliverer tries again: at least once, never lost.
      this.o.log?.(
        `[webhooks] could not record ${delivery.id}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private async attempt({
    delivery,
    url,
    scheme,
    secrets,
  }: ClaimedDelivery): Promise<
    { ok: true; status: number } | { ok: false; status: number | null; error: string }
  > {
    const c = this.o.config;
    const problem = webhookUrlProblem(url, { allowPrivate: c.allowPrivateUrls });
    if (problem) return { ok: false, status: null, error: `URL refused: ${problem}` };
    try {
      const res = await this.o.fetch(url, {
        method: 'POST',
        headers: await signedHeaders(delivery.eventId, delivery.event, delivery.body, scheme, secrets),
        body: delivery.body,
        // A redirect is not followed (it could lead anywhere, private addresses included): it fails.
        redirect: 'manual',
        signal: AbortSignal.timeout(c.timeoutMs),
      });
      await res.body?.cancel().catch(() => {});
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, status: res.status, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const refused = causes(e).find((x) => x instanceof AddressRefusedError);
      const why = refused
        ? `URL refused: ${refused.message}`
        : err.name === 'TimeoutError'
          ? `no answer within ${c.timeoutMs} ms`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
      return { ok: false, status: null, error: why };
    }
  }
}

/**
 * The headers of one attempt, signed now: Standard Webhooks' (with every secret that signs), and for an
 * endpoint of the legacy scheme also `Tailor-Signature` and `Tailor-Event-Id`, as before the standard.
 */
async function signedHeaders(
  eventId: string,
  event: string,
  body: string,
  scheme: ClaimedDelivery['scheme'],
  secrets: string[],
): Promise<Record<string, string>> {
  const t = Math.floor(Date.now() / 1000);
  const current = secrets[0] as string;
  return {
    'content-type': 'application/json',
    'user-agent': 'Tailor-Webhooks/1',
    [STANDARD_HEADERS.id]: eventId,
    [STANDARD_HEADERS.timestamp]: String(t),
    [STANDARD_HEADERS.signature]: await signStandardWebhook(secrets, eventId, t, body),
    'tailor-event': event,
    ...(scheme === 'legacy'
      ? { [SIGNATURE_HEADER]: await signWebhook(current, body, t), 'tailor-event-id': eventId }
      : {}),
  };
}

/** An error and the causes under it (a failed fetch wraps the connection's error, which may wrap another). */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let x = e; x !== undefined && x !== null && out.length < 8; x = (x as { cause?: unknown }).cause) {
    out.push(x);
    if (x instanceof AggregateError) out.push(...x.errors);
  }
  return out;
}
