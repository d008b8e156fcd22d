// A user's export (GET /v1/users/{user}/export): their profile, feedback, generations and adapter versions as one
// JSON document, streamed page by page so its size has no bound.
import { listAdapters } from '../../core/db/adapters.js';
import { listFeedback } from '../../core/db/feedback.js';
import { listGenerations } from '../../core/db/generations.js';
import { MAX_PAGE_LIMIT, type Page } from '../../core/db/pagination.js';
import { getEndUser } from '../../core/db/users.js';
import type { UserExport } from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { Services } from '../http/services.js';
import { views } from './views.js';

/** The export document as UTF-8 JSON text, read from the database as the reader takes it. */
export async function exportUser(s: Services, app: App, user: string): Promise<ReadableStream<Uint8Array>> {
  const where = { appId: app.id, userId: user };
  const limit = MAX_PAGE_LIMIT;
  const profile = await getEndUser(s.db, app.id, user);
  const mapped = async function* <T, U>(rows: AsyncIterable<T>, view: (row: T) => U | null) {
    for await (const row of rows) {
      const v = view(row);
      if (v !== null) yield v;
    }
  };
  return exportStream(
    {
      app_id: app.id,
      user,
      exported_at: new Date(s.now()).toISOString(),
      profile: profile
        ? {
            created_at: profile.createdAt.toISOString(),
            last_seen: profile.lastSeen.toISOString(),
            training_opted_out_at: profile.trainingOptOutAt ? profile.trainingOptOutAt.toISOString() : null,
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
}

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
