// The user's feedback, newest first: likes, dislikes and edits, each marked with whether the chosen version
// trained on it or was judged on it (held out).
import { Badge, Group, Select, Stack, Text, Timeline } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Empty, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { dateTime } from '../../lib/format';
import type { AdapterItem, FeedbackItem, Page } from '../../lib/types';

export function FeedbackTimeline({
  app,
  user,
  adapters,
}: {
  app: string;
  user: string;
  adapters: AdapterItem[];
}) {
  const feedback = useQuery({
    queryKey: ['feedback', app, user],
    queryFn: () => api.get<Page<FeedbackItem>>(`/admin/apps/${app}/feedback`, { user, limit: 200 }),
  });
  const withSplit = adapters.filter((a) => a.metrics.feedback_split);
  const [version, setVersion] = useState<string | null>(null);
  const split = withSplit.find((a) => a.version === (version ?? withSplit[0]?.version))?.metrics
    .feedback_split;
  const role = (id: string) =>
    split?.train.includes(id) ? 'trained on' : split?.heldout.includes(id) ? 'held out' : null;
  return (
    <QueryView query={feedback}>
      {(p) =>
        p.items.length === 0 ? (
          <Empty
            title="No feedback"
            description="Likes, dislikes and edits sent to /v1/feedback show here."
          />
        ) : (
          <Stack>
            {withSplit.length > 0 && (
              <Select
                label="Mark what this version trained on and was judged on"
                data={withSplit.map((a) => a.version)}
                value={version ?? withSplit[0]?.version ?? null}
                onChange={setVersion}
                maw={320}
              />
            )}
            <Timeline bulletSize={22} lineWidth={2}>
              {p.items.map((f) => (
                <Timeline.Item
                  key={f.id}
                  color={f.edited_text ? 'blue' : f.rating > 0 ? 'teal' : 'red'}
                  bullet={f.edited_text ? '✎' : f.rating > 0 ? '+' : '−'}
                  title={
                    <Group gap="xs">
                      <Text size="sm" fw={600}>
                        {f.edited_text ? 'Edited' : f.rating > 0 ? 'Liked' : 'Disliked'}
                      </Text>
                      <Text size="xs" c="dimmed">
                        {dateTime(f.created_at)}
                      </Text>
                      {role(f.id) && (
                        <Badge
                          size="xs"
                          variant="light"
                          color={role(f.id) === 'held out' ? 'orange' : 'violet'}
                        >
                          {role(f.id)}
                        </Badge>
                      )}
                    </Group>
                  }
                >
                  {f.prompt && (
                    <Text size="xs" c="dimmed">
                      {f.prompt}
                    </Text>
                  )}
                  <Text
                    size="sm"
                    td={f.edited_text ? 'line-through' : undefined}
                    c={f.edited_text ? 'dimmed' : undefined}
                  >
                    {f.text}
                  </Text>
                  {f.edited_text && <Text size="sm">{f.edited_text}</Text>}
                </Timeline.Item>
              ))}
            </Timeline>
          </Stack>
        )
      }
    </QueryView>
  );
}
