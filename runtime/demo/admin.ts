// The operator's side of the demo: the admin routes it needs that @tailor/sdk leaves out (the SDK is an app's
// client of /v1): creating the app, running a training cycle, training a style, reading a job. They go through
// the SDK's shared JSON call with the admin token as the bearer, so both sides share one transport and one
// error (TailorError).
import type { z } from 'zod';
import type { createAppResponse, styleTrainRequest, trainingRunResponse } from '../../schema/contracts.js';
import { Tailor } from '../../sdk/src/index.js';
import type { JobView } from '../node/job-progress.js';

/**
 * Where the platform answers: its origin and what fetches from it (`fetch` itself against a server, or a Hono
 * app's `request` in this process).
 */
export interface Connection {
  baseUrl: string;
  fetch: (url: string, init: RequestInit) => Response | Promise<Response>;
}

export type CreatedApp = z.infer<typeof createAppResponse>;

/** The SDK's client over a connection, with an app key (or the admin token, for `adminClient`). */
export function sdkClient(conn: Connection, key: string): Tailor {
  const request = conn.fetch; // called unbound: a fetch may refuse `this` set to another object
  return new Tailor({
    baseUrl: conn.baseUrl,
    apiKey: key,
    fetch: async (input, init) => request(String(input), init ?? {}),
  });
}

export interface AdminClient {
  createApp(name: string): Promise<CreatedApp>;
  /** Starts a training cycle of the app's due users; resolves with its jobs (queued). */
  runTraining(app: string): Promise<JobView[]>;
  /** Starts training a style of the app; resolves with its job. */
  trainStyle(app: string, req: z.input<typeof styleTrainRequest>): Promise<JobView>;
  job(id: string): Promise<JobView>;
}

export function adminClient(conn: Connection, adminToken: string): AdminClient {
  const sdk = sdkClient(conn, adminToken);
  return {
    createApp: (name) => sdk.request('POST', '/admin/apps', { name }),
    runTraining: async (app) =>
      (await sdk.request<z.infer<typeof trainingRunResponse>>('POST', '/admin/training/run', { app })).jobs,
    trainStyle: async (app, req) =>
      (await sdk.request<{ job: JobView }>('POST', `/admin/apps/${encodeURIComponent(app)}/styles`, req)).job,
    job: (id) => sdk.request('GET', `/admin/jobs/${encodeURIComponent(id)}`),
  };
}
