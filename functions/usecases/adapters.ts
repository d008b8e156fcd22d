// An owner's active version changing, as the admin API makes it change: promotion, rollback, a style imported.
//
// The database side is one transaction, the same whoever makes the change (this API or the training worker,
// core/db/adapters.ts): the flip, the webhook event in the outbox, and the invalidation notice. The notice is
// what every process reacts to, this one included: its invalidator drops the cached active version
// (http/invalidations.ts) and its webhook deliverer looks at the outbox (core/webhooks/deliverer.ts). What is
// left here is what must not wait for the notice: this process stops serving the old version at once (so the
// answer's change shows in the next request, also where notices are only polled: Workers), and the audit log
// names who made the change.
import type { Published } from '../../core/adapters/publish.js';
import {
  type ActiveFlip,
  type AdapterOwner,
  promoteAdapter,
  rollbackAdapter,
} from '../../core/db/adapters.js';
import type { AuditSubject } from '../../core/db/audit.js';
import { getBaseModel } from '../../core/db/base-models.js';
import { AdapterError } from '../../engine/index.js';
import type { StyleImportRequest } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import { importStyleAdapter } from '../adapters/style-import.js';
import type { Caller } from '../http/directory.js';
import type { Services } from '../http/services.js';
import { audit } from './audit.js';
import { UseCaseError, unavailable } from './errors.js';

/** The owner's active version changed in the database: this process stops serving its cached one now. */
export function activeVersionChanged(s: Services, owner: AdapterOwner): void {
  s.adapters.forget(owner);
}

type Activation = 'adapter.promoted' | 'adapter.rolled_back' | 'style.imported';

/** After `caller` made a version of `owner` active (its transaction wrote the outbox and the notice). */
export async function adapterActivated(
  s: Services,
  caller: Caller,
  owner: AdapterOwner,
  action: Activation,
  details: Record<string, unknown>,
): Promise<void> {
  activeVersionChanged(s, owner);
  await audit(s, caller, action, { appId: owner.appId, subject: subjectOf(owner), details });
}

/** Makes `version` the owner's active one (any complete version, a rejected one included). */
export async function promote(
  s: Services,
  caller: Caller,
  owner: AdapterOwner,
  version: string,
): Promise<ActiveFlip> {
  const flip = await promoteAdapter(s.db, owner, version);
  await adapterActivated(s, caller, owner, 'adapter.promoted', flipDetails(flip));
  return flip;
}

/** Goes back to the version active before the current one. */
export async function rollback(s: Services, caller: Caller, owner: AdapterOwner): Promise<ActiveFlip> {
  const flip = await rollbackAdapter(s.db, owner);
  await adapterActivated(s, caller, owner, 'adapter.rolled_back', flipDetails(flip));
  return flip;
}

/**
 * Publishes a PEFT LoRA adapter (its two files, base64) as the style's active version, once the engine's strict
 * reader accepted it for the served base model.
 */
export async function importStyle(
  s: Services,
  caller: Caller,
  app: App,
  req: StyleImportRequest,
): Promise<Published> {
  const base = await getBaseModel(s.db, s.baseModelId);
  if (!base) throw unavailable(`base model ${s.baseModelId} is not published`);
  const model = s.engine.model(s.baseModelId);
  let published: Published;
  try {
    published = await importStyleAdapter(s.db, s.store, {
      appId: app.id,
      styleId: req.style,
      files: { config: fromBase64(req.adapter_config), weights: fromBase64(req.adapter_model) },
      baseModel: { id: base.id, hash: base.hash },
      shape: model.shape,
      limits: { maxRank: model.config.tailor.max_lora_rank, targets: model.config.tailor.lora_targets },
    });
  } catch (e) {
    if (e instanceof AdapterError) throw new UseCaseError('invalid_adapter', e.message);
    throw e;
  }
  await adapterActivated(s, caller, { appId: app.id, styleId: req.style }, 'style.imported', {
    version: published.adapter.version,
  });
  return published;
}

const flipDetails = (flip: ActiveFlip) => ({
  version: flip.active.version,
  replaced: flip.retired?.version ?? null,
});

const subjectOf = (owner: AdapterOwner): AuditSubject =>
  'userId' in owner ? { kind: 'user', id: owner.userId } : { kind: 'style', id: `style:${owner.styleId}` };

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
