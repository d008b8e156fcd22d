import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';
import type { StyleItem } from '../../lib/types';

export function useStyles(app: string | null) {
  return useQuery({
    queryKey: ['styles', app],
    enabled: !!app,
    queryFn: () => api.get<{ items: StyleItem[] }>(`/admin/apps/${app}/styles`),
  });
}
