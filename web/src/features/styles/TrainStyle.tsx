// Training a style from a Brown genre or the operator's own texts: a job the Training page follows.
import {
  Button,
  Group,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../lib/api';
import type { ModelCard } from '../../lib/types';

export function TrainStyle({ app }: { app: string }) {
  const [name, setName] = useState('');
  const [source, setSource] = useState<'genre' | 'texts'>('genre');
  const [genre, setGenre] = useState<string | null>('mystery');
  const [texts, setTexts] = useState('');
  const model = useQuery({ queryKey: ['model'], queryFn: () => api.get<ModelCard>('/admin/model') });
  const genres = (model.data?.perplexity ?? []).map((p) => p.split).filter((g) => g !== 'all');
  const qc = useQueryClient();
  const train = useMutation({
    mutationFn: () =>
      api.send<{ job: { id: string } }>('POST', `/admin/apps/${app}/styles`, {
        style: name.trim(),
        ...(source === 'genre'
          ? { genre }
          : {
              texts: texts
                .split(/\n\s*\n/)
                .map((t) => t.trim())
                .filter(Boolean),
            }),
      }),
    onSuccess: (r) => {
      notifications.show({
        color: 'teal',
        message: `Training job ${r.job.id} enqueued: follow it on the Training page`,
      });
      qc.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
  return (
    <Paper withBorder p="md">
      <Title order={5} mb="xs">
        Train a style
      </Title>
      <Stack>
        <TextInput
          label="Style id"
          placeholder="noir"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        <SegmentedControl
          value={source}
          onChange={(v) => setSource(v as 'genre' | 'texts')}
          data={[
            { value: 'genre', label: 'A Brown genre' },
            { value: 'texts', label: 'Texts' },
          ]}
        />
        {source === 'genre' ? (
          <Select label="Genre" data={genres} value={genre} onChange={setGenre} />
        ) : (
          <Textarea
            label="Texts, separated by a blank line"
            autosize
            minRows={4}
            value={texts}
            onChange={(e) => setTexts(e.currentTarget.value)}
          />
        )}
        <Group>
          <Button
            onClick={() => train.mutate()}
            loading={train.isPending}
            disabled={!name.trim() || (source === 'genre' ? !genre : !texts.trim())}
          >
            Train
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
