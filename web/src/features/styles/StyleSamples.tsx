// A style's samples: a few fixed prompts continued with the style alone (weight 1, no user adapter).
import { Paper, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { QueryView } from '../../components/states';
import { api } from '../../lib/api';
import type { GenerateResponse } from '../../lib/types';

const SAMPLE_PROMPTS = ['The night was', 'She opened the letter and', 'At the edge of the town'];

export function StyleSamples({ app, style }: { app: string; style: string }) {
  const samples = useQuery({
    queryKey: ['samples', app, style],
    queryFn: () =>
      Promise.all(
        SAMPLE_PROMPTS.map((prompt, i) =>
          api.send<GenerateResponse>('POST', `/admin/apps/${app}/generate`, {
            user: 'console-samples',
            prompt,
            adapter: 'none',
            styles: [{ id: style, weight: 1 }],
            max_tokens: 40,
            seed: i + 1,
          }),
        ),
      ),
  });
  return (
    <QueryView query={samples}>
      {(rows) => (
        <Stack>
          {rows.map((g, i) => (
            <Paper key={g.id} withBorder p="sm">
              <Text size="sm">
                <Text span c="dimmed">
                  {SAMPLE_PROMPTS[i]}
                </Text>
                {g.text}
              </Text>
            </Paper>
          ))}
        </Stack>
      )}
    </QueryView>
  );
}
