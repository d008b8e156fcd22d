// A user's active adapter with download links (to run it on the device), and their training switch.
import type { z } from 'zod';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PACKAGE_MANIFEST } from '../../core/adapters/package.js';
import { getActiveAdapter, listStyles } from '../../core/db/adapters.js';
import { setTrainingOptOut } from '../../core/db/users.js';
import type { UserAdapterResponse, userTrainingResponse } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { Caller } from '../http/directory.js';
import { linkFiles } from '../http/download-links.js';
import type { Services } from '../http/services.js';
import { activeVersionChanged } from './adapters.js';
import { audit } from './audit.js';
import { notFound, unavailable } from './errors.js';
import { iso } from './views.js';

const LINK_TTL_S = 3600;

/** The files of an adapter package, in the order a device needs them. */
export const ADAPTER_FILES = [ADAPTER_CONFIG, ADAPTER_WEIGHTS, PACKAGE_MANIFEST];

/** The user's active version with links (valid an hour) under `origin`, and the app's active styles'. */
export async function userAdapter(
  s: Services,
  app: App,
  user: string,
  origin: string,
): Promise<UserAdapterResponse> {
  const row = await getActiveAdapter(s.db, { appId: app.id, userId: user });
  if (!row) throw notFound(`user ${user} has no active adapter yet`);
  const link = (prefix: string) =>
    linkFiles(s.store, s.urlSecret, origin, prefix, ADAPTER_FILES, LINK_TTL_S, s.now());
  const active = (await listStyles(s.db, app.id)).filter((st) => st.activeVersion !== null);
  const [files, styles] = await Promise.all([
    link(row.storagePrefix),
    Promise.all(
      active.map(async (st) => {
        const style = await getActiveAdapter(s.db, { appId: app.id, styleId: st.styleId });
        return style
          ? { id: st.styleId, version: style.version, files: await link(style.storagePrefix) }
          : null;
      }),
    ),
  ]);
  const weights = files.find((f) => f.name === ADAPTER_WEIGHTS);
  if (!weights) throw unavailable('the adapter files are not in storage; retry later');
  return {
    version: row.version,
    created_at: row.createdAt.toISOString(),
    base_model: row.baseModelId,
    metrics: row.metrics,
    download: { url: weights.url, expires_at: weights.expires_at },
    files,
    styles: styles.filter((x) => x !== null),
  };
}

/**
 * Opts a user out of training (their active version is retired: the base model serves them) or back in; the
 * audit log says who.
 */
export async function setUserTraining(
  s: Services,
  caller: Caller,
  app: App,
  user: string,
  enabled: boolean,
): Promise<z.infer<typeof userTrainingResponse>> {
  const { user: row, retired } = await setTrainingOptOut(s.db, app.id, user, !enabled);
  activeVersionChanged(s, { appId: app.id, userId: user });
  await audit(s, caller, enabled ? 'user.training_enabled' : 'user.training_disabled', {
    appId: app.id,
    subject: { kind: 'user', id: user },
    ...(retired ? { details: { retired } } : {}),
  });
  return {
    user,
    enabled: row.trainingOptOutAt === null,
    opted_out_at: iso(row.trainingOptOutAt),
    retired_version: retired,
  };
}
