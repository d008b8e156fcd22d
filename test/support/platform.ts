// A whole platform in one process for route tests (runtime/node/in-process.ts) with the tests' helpers: calls
// checked against the API contract, row counts, adapters made active. Requests go through app.request(): no ports.
import { sql } from 'drizzle-orm';
import { insertAdapter, promoteAdapter } from '../../core/db/adapters.js';
import { randomAdapter } from '../../engine/testing.js';
import { type InProcessPlatform, startInProcess } from '../../runtime/node/in-process.js';
import { checkAnswer } from './contract.js';

export const ADMIN = 'admin-token-for-tests-0123456789';

export interface TestPlatform extends Omit<InProcessPlatform, 'config'> {
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  newApp(name?: string): Promise<{ app_id: string; api_key: string; signing_secret: string }>;
  /** Rows in every table: what a refused request must leave unchanged. */
  rowCounts(): Promise<Record<string, number>>;
  /** Stores a random adapter version for a user and makes it active. */
  activeAdapter(appId: string, userId: string, version: string, seed?: number): Promise<string>;
}

/** `dataDir`: PGlite on disk there (default: in memory). */
export async function startPlatform(
  env: Record<string, string> = {},
  opts: { dataDir?: string } = {},
): Promise<TestPlatform> {
  const platform = await startInProcess(
    { ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_USER_PER_MINUTE: '0', ...env },
    {
      ...opts,
      // A 500 in a route test should say why (the answer only says "internal error").
      onError: (e) => console.error('[test platform] internal error:', e),
    },
  );
  const { app, services, config, database, store, engine } = platform;

  const call: TestPlatform['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await app.request(`http://localhost${path}`, {
      method,
      headers,
      ...(opts.raw !== undefined
        ? { body: opts.raw }
        : opts.body !== undefined
          ? { body: JSON.stringify(opts.body) }
          : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    checkAnswer(
      app,
      { method, path },
      { status: res.status, type: res.headers.get('content-type') ?? '', json },
    );
    return { status: res.status, json, text, headers: res.headers };
  };

  return {
    ...platform,
    call,
    async newApp(name = 'test-app') {
      const r = await call('POST', '/admin/apps', { key: ADMIN, body: { name } });
      if (r.status !== 201) throw new Error(`create app: ${r.status} ${r.text}`);
      return r.json;
    },
    async rowCounts() {
      const out: Record<string, number> = {};
      for (const t of [
        'apps',
        'api_keys',
        'end_users',
        'generations',
        'feedback',
        'adapters',
        'training_jobs',
      ]) {
        const r = await database.db.execute(sql.raw(`select count(*)::int as n from ${t}`));
        out[t] = Number((r as unknown as { rows: { n: number }[] }).rows[0]?.n);
      }
      return out;
    },
    async activeAdapter(appId, userId, version, seed = 1) {
      const prefix = `adapters/${appId}/${userId}/${version}/`;
      const files = randomAdapter(engine.model(config.baseModel).shape, {
        r: 8,
        alpha: 16,
        targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        seed,
        scale: 0.2,
      });
      await store.put(`${prefix}adapter_config.json`, files.config);
      await store.put(`${prefix}adapter_model.safetensors`, files.weights);
      const owner = { appId, userId };
      await insertAdapter(database.db, owner, {
        version,
        storagePrefix: prefix,
        baseModelId: config.baseModel,
        status: 'candidate',
        metrics: { heldout_loss: 1 },
      });
      await promoteAdapter(database.db, owner, version);
      services.adapters.forget(owner);
      return prefix;
    },
  };
}
