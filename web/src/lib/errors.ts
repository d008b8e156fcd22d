// Server errors are shown in one place: every failed query and mutation lands here, once per message, as a
// notification with the server's own words. A 401 signs the operator out (the token is wrong or was rotated).
import { notifications } from '@mantine/notifications';
import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from './api';
import { session } from './session';

export function describeError(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.message} (${e.status} ${e.code})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

export function showError(e: unknown): void {
  if (e instanceof ApiError && e.status === 401) {
    session.signOut();
    return;
  }
  const message = describeError(e);
  // The id dedupes: the same failure from several queries is one notification.
  notifications.show({ id: message, color: 'red', title: 'The platform refused', message, autoClose: 8000 });
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: showError }),
    mutationCache: new MutationCache({ onError: showError }),
    defaultOptions: {
      queries: {
        retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
    },
  });
}
