// The base models and their imports (polled while an import is queued or running), and queueing an import of a
// checkpoint directory on the server.
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import type { ImportModelRequest, ImportModelResponse, ModelCard, ModelsList } from '../../lib/types';
import { live } from '../training/progress';

/** The card of the base this process serves by default (the shipped one): shape, perplexity, loss curve. */
export function useModelCard() {
  return useQuery({
    queryKey: ['model'],
    queryFn: () => api.get<ModelCard>('/admin/model'),
    staleTime: Infinity,
  });
}

export function useModels() {
  return useQuery({
    queryKey: ['models'],
    queryFn: () => api.get<ModelsList>('/admin/models'),
    refetchInterval: (q) => (live(q.state.data?.imports) ? 1500 : false),
  });
}

export function useImportModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (req: ImportModelRequest) => api.send<ImportModelResponse>('POST', '/admin/models', req),
    onSuccess: (r, req) => {
      const c = r.checkpoint;
      notifications.show({
        color: 'teal',
        message: `Importing ${req.name}: ${c.architecture}, ${(c.params / 1e6).toFixed(1)} M parameters, ${c.dtype}`,
      });
      qc.invalidateQueries({ queryKey: ['models'] });
    },
  });
}
