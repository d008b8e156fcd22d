// The apps, and the one the operator is looking at (kept across reloads; the first app until one is picked).
import { useQuery } from '@tanstack/react-query';
import { useCallback, useSyncExternalStore } from 'react';
import { api } from '../../lib/api';
import type { AppSummary, Page } from '../../lib/types';

const KEY = 'tailor.app';
const listeners = new Set<() => void>();
const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

export function useApps() {
  return useQuery({
    queryKey: ['apps'],
    queryFn: () => api.get<Page<AppSummary>>('/admin/apps', { limit: 200 }),
  });
}

export function useCurrentApp(): [string | null, (id: string | null) => void, AppSummary[]] {
  const apps = useApps().data?.items ?? [];
  const stored = useSyncExternalStore(subscribe, () => localStorage.getItem(KEY));
  const current = apps.find((a) => a.id === stored)?.id ?? apps[0]?.id ?? null;
  const set = useCallback((id: string | null) => {
    if (id) localStorage.setItem(KEY, id);
    else localStorage.removeItem(KEY);
    for (const l of listeners) l();
  }, []);
  return [current, set, apps];
}
