// A user's adapter (with a download link, to run it on the device), and erasure of everything about a user.
import { Hono } from 'hono';
import { getActiveAdapter } from '../../core/db/adapters.js';
import { eraseEndUser } from '../../core/db/erase.js';
import { deletePrefix } from '../../core/storage/delete-prefix.js';
import { StorageError } from '../../core/storage/store.js';
import { type UserAdapterResponse, userParams } from '../../schema/contracts.js';
import { ADAPTER_WEIGHTS } from '../adapters/resolver.js';
import { downloadLink, FILES_ROUTE, verifyDownload } from '../http/download-links.js';
import { ApiError, notFound } from '../http/errors.js';
import { actingUser, callerApp, type HonoEnv, type Services } from '../http/services.js';
import { pathParams } from '../http/validate.js';

const LINK_TTL_S = 3600;

export function userRoutes(s: Services) {
  return new Hono<HonoEnv>()
    .get('/v1/users/:user/adapter', async (c) => {
      const app = callerApp(c);
      const { user } = pathParams(c, userParams);
      actingUser(c, user);
      const row = await getActiveAdapter(s.db, { appId: app.id, userId: user });
      if (!row) throw notFound(`user ${user} has no active adapter yet`);
      const origin = new URL(c.req.url).origin;
      const link = await downloadLink(
        s.store,
        s.urlSecret,
        origin,
        row.storagePrefix + ADAPTER_WEIGHTS,
        LINK_TTL_S,
        s.now(),
      );
      const body: UserAdapterResponse = {
        version: row.version,
        created_at: row.createdAt.toISOString(),
        base_model: row.baseModelId,
        metrics: row.metrics,
        download: link,
      };
      return c.json(body);
    })
    .delete('/v1/users/:user', async (c) => {
      const app = callerApp(c);
      const { user } = pathParams(c, userParams);
      actingUser(c, user);
      await eraseEndUser(s.db, app.id, user);
      // Every file under the user's prefix goes, also any a crashed run left unreferenced.
      await deletePrefix(s.store, `adapters/${app.id}/${user}/`);
      s.adapters.forget({ appId: app.id, userId: user });
      s.unsee(app.id, user);
      return c.body(null, 204);
    });
}

/** GET /v1/files/<key>?expires&sig: a signed download link of the app's own (local stores). */
export function fileRoutes(s: Services) {
  return new Hono<HonoEnv>().get(`${FILES_ROUTE}*`, async (c) => {
    const key = decodeURIComponent(new URL(c.req.url).pathname.slice(FILES_ROUTE.length));
    if (!(await verifyDownload(s.urlSecret, key, c.req.query('expires'), c.req.query('sig'), s.now()))) {
      throw new ApiError(403, 'forbidden', 'this download link is invalid or has expired');
    }
    let bytes: Uint8Array | null;
    try {
      bytes = await s.store.get(key);
    } catch (e) {
      if (e instanceof StorageError) throw notFound('no such file');
      throw e;
    }
    if (!bytes) throw notFound('no such file');
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
  });
}
