// The admin token, kept in this tab's session storage only: never in a URL, a cookie or a log.
const KEY = 'tailor.admin-token';

type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

export const session = {
  token(): string | null {
    return sessionStorage.getItem(KEY);
  },
  signIn(token: string): void {
    sessionStorage.setItem(KEY, token);
    for (const l of listeners) l(token);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    for (const l of listeners) l(null);
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};
