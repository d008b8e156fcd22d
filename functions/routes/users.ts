// A user's adapter (with a download link, to run it on the device), and erasure of everything about a user.
import { createRoute } from '@hono/zod-openapi';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PACKAGE_MANIFEST } from '../../core/adapters/package.js';
import { getActiveAdapter, listAdapters, listStyles } from '../../core/db/adapters.js';
import { eraseEndUser } from '../../core/db/erase.js';
import { listFeedback } from '../../core/db/feedback.js';
import { listGenerations } from '../../core/db/generations.js';
import { MAX_PAGE_LIMIT, type Page } from '../../core/db/pagination.js';
import { getEndUser, setTrainingOptOut } from '../../core/db/users.js';
import { deletePrefix } from '../../core/storage/delete-prefix.js';
import { userAdaptersPrefix } from '../../core/storage/keys.js';
import {
  type UserAdapterResponse,
  type UserExport,
  userAdapterResponse,
  userExportResponse,
  userParams,
  userTrainingRequest,
  userTrainingResponse,
} from '../../schema/contracts.js';
import { audit } from '../http/audit.js';
import { linkFiles } from '../http/download-links.js';
import { ApiError, notFound } from '../http/errors.js';
import { APP_ERRORS, appSecurity, body, errors, json, routes } from '../http/openapi.js';
import { actingUser, callerApp, type Services, takeRateLimits } from '../http/services.js';
import { iso, views } from './admin/views.js';

const LINK_TTL_S = 3600;

/** The files of an adapter package, in the order a device needs them. */
export const ADAPTER_FILES = [ADAPTER_CONFIG, ADAPTER_WEIGHTS, PACKAGE_MANIFEST];

export const userAdapterRoute = createRoute({
  method: 'get',
  path: '/v1/users/{user}/adapter',
  tags: ['users'],
  summary: "The user's active adapter",
  description:
    'Its version, metrics and a download link of its weights (valid for an hour), to run it on the device.',
  security: appSecurity,
  request: { params: userParams },
  responses: {
    200: json(userAdapterResponse, 'The active version'),
    ...errors(401, 403, 404, 422, 429, 503),
  },
});

export const eraseUserRoute = createRoute({
  method: 'delete',
  path: '/v1/users/{user}',
  tags: ['users'],
  summary: 'Erase a user',
  description:
    "Deletes the user's generations, feedback, adapter versions and their files. Idempotent: erasing a user " +
    'the app does not know answers 204 too.',
  security: appSecurity,
  request: { params: userParams },
  responses: { 204: { description: 'Erased' }, ...errors(401, 403, 422, 429) },
});

/**
 * Everything about a user goes: rows, then every file of theirs: under each version's recorded prefix, the
 * user's folder (also files a crashed run left unreferenced), and the folder of the old, unencoded layout
 * (listed under its exact spelling: on a case-insensitive disk `Bob`'s folder is not `bob`'s). Then this
 * process forgets them; other processes do on the erasure's notice. The embedded database's files lose the
 * rows at its compactor's next pass (core/db/compaction.ts), not during this request.
 */
export async function eraseUser(s: Services, appId: string, user: string): Promise<void> {
  const erased = await eraseEndUser(s.db, appId, user, {
    userHash: await s.userHash(appId, user),
    compaction: s.config.database.driver === 'pglite',
  });
  const legacy = `adapters/${appId}/${user}/`; // every id the API accepts makes a valid prefix here too
  const prefixes = new Set([...erased.storagePrefixes, userAdaptersPrefix(appId, user), legacy]);
  for (const prefix of prefixes) await deletePrefix(s.store, prefix);
  await s.forgetUser(appId, user);
}

export const exportUserRoute = createRoute({
  method: 'get',
  path: '/v1/users/{user}/export',
  tags: ['users'],
  summary: 'Export everything stored about a user',
  description:
    'Their profile, feedback, generations and adapter versions (with metrics), as one JSON document: what a ' +
    'user asking for their data is owed. Streamed page by page, so its size has no bound.',
  security: appSecurity,
  request: { params: userParams },
  responses: { 200: json(userExportResponse, 'The export'), ...errors(401, 403, 422, 429) },
});

export const userTrainingRoute = createRoute({
  method: 'put',
  path: '/v1/users/{user}/training',
  tags: ['users'],
  summary: 'Opt a user out of training, or back in',
  description:
    '`enabled: false`: their feedback is kept, no adapter is trained for them (not even in runs an operator ' +
    'starts), their feedback is not recalled as memory, and their active version is retired, so they are ' +
    'served the base model. `enabled: true` undoes it; ' +
    'the next cycle trains them again.',
  security: appSecurity,
  request: { params: userParams, body: body(userTrainingRequest) },
  responses: { 200: json(userTrainingResponse, 'The user’s training state'), ...errors(...APP_ERRORS) },
});

/** The items of a keyset listing, one page read at a time. */
async function* everyItem<T>(list: (cursor: string | null) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | null = null;
  do {
    const page: Page<T> = await list(cursor);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/**
 * A user's export as a stream of JSON text: the document's head, then each list an item at a time, read a
 * page at a time as the client takes them — however much is stored, the process holds one page of it.
 */
function exportStream(
  head: Omit<UserExport, 'feedback' | 'generations' | 'adapters'>,
  lists: { [K in 'feedback' | 'generations' | 'adapters']: AsyncIterable<UserExport[K][number]> },
): ReadableStream<Uint8Array> {
  const utf8 = new TextEncoder();
  async function* parts(): AsyncGenerator<string> {
    yield JSON.stringify(head).slice(0, -1);
    for (const [name, items] of Object.entries(lists)) {
      yield `,${JSON.stringify(name)}:[`;
      let first = true;
      for await (const item of items) {
        yield `${first ? '' : ','}${JSON.stringify(item)}`;
        first = false;
      }
      yield ']';
    }
    yield '}';
  }
  const it = parts();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A page's worth of items per pull: few, large chunks, and the next page only once the client read.
      let chunk = '';
      while (chunk.length < 64 * 1024) {
        const next = await it.next();
        if (next.done) {
          if (chunk) controller.enqueue(utf8.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
      }
      controller.enqueue(utf8.encode(chunk));
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}

export function userRoutes(s: Services) {
  return routes()
    .openapi(userAdapterRoute, async (c) => {
      const app = callerApp(c);
      const user = actingUser(c, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      const row = await getActiveAdapter(s.db, { appId: app.id, userId: user });
      if (!row) throw notFound(`user ${user} has no active adapter yet`);
      // The configured public origin; without one the request's (which a Host header can name).
      const origin = s.config.publicUrl ?? new URL(c.req.url).origin;
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
      if (!weights)
        throw new ApiError(503, 'unavailable', 'the adapter files are not in storage; retry later');
      const out: UserAdapterResponse = {
        version: row.version,
        created_at: row.createdAt.toISOString(),
        base_model: row.baseModelId,
        metrics: row.metrics,
        download: { url: weights.url, expires_at: weights.expires_at },
        files,
        styles: styles.filter((x) => x !== null),
      };
      return c.json(out, 200);
    })
    .openapi(exportUserRoute, async (c) => {
      const app = callerApp(c);
      const user = actingUser(c, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      const where = { appId: app.id, userId: user };
      const limit = MAX_PAGE_LIMIT;
      const profile = await getEndUser(s.db, app.id, user);
      const mapped = async function* <T, U>(rows: AsyncIterable<T>, view: (row: T) => U | null) {
        for await (const row of rows) {
          const v = view(row);
          if (v !== null) yield v;
        }
      };
      const body = exportStream(
        {
          app_id: app.id,
          user,
          exported_at: new Date(s.now()).toISOString(),
          profile: profile
            ? {
                created_at: profile.createdAt.toISOString(),
                last_seen: profile.lastSeen.toISOString(),
                training_opted_out_at: profile.trainingOptOutAt
                  ? profile.trainingOptOutAt.toISOString()
                  : null,
              }
            : null,
        },
        {
          feedback: mapped(
            everyItem((cursor) => listFeedback(s.db, where, { limit, cursor })),
            views.feedback,
          ),
          generations: mapped(
            everyItem((cursor) => listGenerations(s.db, where, { limit, cursor })),
            views.generation,
          ),
          adapters: mapped(
            everyItem((cursor) => listAdapters(s.db, where, { limit, cursor })),
            (a) => (a.kind === 'user' ? views.adapter(a) : null),
          ),
        },
      );
      return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8' }) as never;
    })
    .openapi(userTrainingRoute, async (c) => {
      const app = callerApp(c);
      const user = actingUser(c, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      const { enabled } = c.req.valid('json');
      const { user: row, retired } = await setTrainingOptOut(s.db, app.id, user, !enabled);
      s.adapters.forget({ appId: app.id, userId: user });
      await audit(s, c, enabled ? 'user.training_enabled' : 'user.training_disabled', {
        appId: app.id,
        subject: { kind: 'user', id: user },
        ...(retired ? { details: { retired } } : {}),
      });
      return c.json(
        {
          user,
          enabled: row.trainingOptOutAt === null,
          opted_out_at: iso(row.trainingOptOutAt),
          retired_version: retired,
        },
        200,
      );
    })
    .openapi(eraseUserRoute, async (c) => {
      const app = callerApp(c);
      const user = actingUser(c, c.req.valid('param').user);
      await takeRateLimits(s, app, user);
      await eraseUser(s, app.id, user);
      await audit(s, c, 'user.erased', { appId: app.id, subject: { kind: 'user', id: user } });
      return c.body(null, 204);
    });
}
