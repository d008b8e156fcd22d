// Which base model a request runs on. `model` names `<base>` or `<base>:<style>`; left out, the platform's
// default base (TAILOR_BASE_MODEL). A base imported since this process started (POST /admin/models) is loaded
// into the engine on its first request, once; one that was never published is a 404.
import { getBaseModel } from '../../core/db/base-models.js';
import type { StyleWeight } from '../../schema/contracts.js';
import type { Services } from '../http/services.js';
import { invalidInput, notFound } from './errors.js';

/** A request's base, and the style its `model` names (`<base>:<style>`), if any. */
export interface ModelChoice {
  base: string;
  style?: string;
}

/** Splits `model` at its first ":" (base ids have none). */
export function parseModel(model: string): ModelChoice {
  const at = model.indexOf(':');
  return at < 0 ? { base: model } : { base: model.slice(0, at), style: model.slice(at + 1) };
}

const loading = new WeakMap<Services, Map<string, Promise<void>>>();

/** The base is served by this process's engine (loaded now when it was imported since the start). */
export async function servedBase(s: Services, base: string): Promise<string> {
  if (s.engine.bases().some((b) => b.id === base)) return base;
  let byId = loading.get(s);
  if (!byId) {
    byId = new Map();
    loading.set(s, byId);
  }
  let p = byId.get(base);
  if (!p) {
    p = (async () => {
      const row = await getBaseModel(s.db, base);
      if (!row) throw notFound(`base model ${base} is not published: GET /v1/models lists the models`);
      if (s.baseLimit) {
        const graph = (await s.store.head(`${row.storagePrefix}model.onnx`))?.size ?? 0;
        const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
        if (graph > s.baseLimit.maxGraphBytes)
          throw invalidInput(
            `model: base model ${base} has a ${mb(graph)} graph; this runtime serves up to ${mb(s.baseLimit.maxGraphBytes)} (${s.baseLimit.why}): serve it from the Node runtime`,
            { path: 'model', message: 'too large for this runtime' },
          );
      }
      await s.engine.addBase({ id: row.id, prefix: row.storagePrefix, hash: row.hash });
    })();
    byId.set(base, p);
    p.catch(() => byId.delete(base));
  }
  await p;
  return base;
}

/** The base a request runs on and the styles its `model` adds to those it asks for. */
export async function chooseModel(
  s: Services,
  model: string | undefined,
  styles: StyleWeight[],
): Promise<{ base: string; styles: StyleWeight[] }> {
  if (model === undefined || model === s.baseModelId) return { base: s.baseModelId, styles };
  const choice = parseModel(model);
  const base = await servedBase(s, choice.base);
  return { base, styles: choice.style ? [...styles, { id: choice.style, weight: 1 }] : styles };
}
