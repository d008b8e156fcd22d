// The user's latest generations: which adapter version wrote each, its prompt and text.
import { Badge, Group, Paper, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Empty, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { dateTime } from '../../lib/format';
import type { GenerationItem, Page } from '../../lib/types';

export function UserGenerations({ app, user }: { app: string; user: string }) {
  const gens = useQuery({
    queryKey: ['generations', app, user],
    queryFn: () => api.get<Page<GenerationItem>>(`/admin/apps/${app}/generations`, { user, limit: 50 }),
  });
  return (
    <QueryView query={gens}>
      {(p) =>
        p.items.length === 0 ? (
          <Empty title="No generations" />
        ) : (
          <Stack gap="xs">
            {p.items.map((g) => (
              <Paper key={g.id} withBorder p="sm">
                <Group justify="space-between" mb={4}>
                  <Badge variant="light" color={g.adapter_version ? 'violet' : 'gray'}>
                    {g.adapter_version ? `adapter ${g.adapter_version}` : 'base model'}
                  </Badge>
                  <Text size="xs" c="dimmed">
                    {dateTime(g.created_at)} · {g.usage.completion_tokens} tokens · {g.finish_reason}
                  </Text>
                </Group>
                <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                  <Text span c="dimmed">
                    {g.prompt}
                  </Text>
                  {g.text}
                </Text>
              </Paper>
            ))}
          </Stack>
        )
      }
    </QueryView>
  );
}
