// Playground: one prompt, one user, optional styles with weights; the base model and the personalized model
// side by side (streamed, same seed), and a candidate text scored under each.
import {
  Badge,
  Button,
  Group,
  MultiSelect,
  Paper,
  SimpleGrid,
  Slider,
  Stack,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { SideBySide } from '../../components/SideBySide';
import { NeedApp, PageHeader } from '../../components/states';
import { api } from '../../lib/api';
import { num } from '../../lib/format';
import type { ScoreResponse } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { useStyles } from '../styles/useStyles';

export function PlaygroundPage() {
  const [app] = useCurrentApp();
  const [user, setUser] = useState('');
  const [weights, setWeights] = useState<Record<string, number>>({});
  const styles = useStyles(app).data?.items.filter((s) => s.active_version) ?? [];
  if (!app) return <NeedApp />;
  const chosen = Object.entries(weights).map(([id, weight]) => ({ id, weight }));
  const who = user.trim();
  return (
    <>
      <PageHeader
        title="Playground"
        description="The same prompt and seed through the base model and through a reader's adapter (and styles)."
      />
      <Stack>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <TextInput
            label="User"
            placeholder="reader-1"
            value={user}
            onChange={(e) => setUser(e.currentTarget.value)}
            description="Their active adapter is applied on the right"
          />
          <MultiSelect
            label="Styles"
            placeholder={styles.length ? 'Add styles' : 'No styles in this app'}
            data={styles.map((s) => s.style)}
            value={Object.keys(weights)}
            onChange={(ids) => setWeights(Object.fromEntries(ids.map((id) => [id, weights[id] ?? 1])))}
            disabled={!styles.length}
          />
        </SimpleGrid>
        {chosen.map((s) => (
          <Group key={s.id} wrap="nowrap">
            <Text size="sm" w={140}>
              {s.id}
            </Text>
            <Slider
              flex={1}
              min={0}
              max={2}
              step={0.05}
              value={s.weight}
              onChange={(w) => setWeights({ ...weights, [s.id]: w })}
              label={(w) => w.toFixed(2)}
              aria-label={`Weight of ${s.id}`}
            />
          </Group>
        ))}
        {who ? (
          <>
            <SideBySide
              app={app}
              user={who}
              sides={[
                { label: 'Base model', adapter: 'none' },
                { label: `Personalized for ${who}`, adapter: 'auto', styles: chosen },
              ]}
            />
            <ScoreCandidate app={app} user={who} styles={chosen} />
          </>
        ) : (
          <Text c="dimmed">Name a user to compare.</Text>
        )}
      </Stack>
    </>
  );
}

function ScoreCandidate({
  app,
  user,
  styles,
}: {
  app: string;
  user: string;
  styles: { id: string; weight: number }[];
}) {
  const [context, setContext] = useState('The old lighthouse keeper');
  const [text, setText] = useState(' climbed the stairs one more time.');
  const score = useMutation({
    mutationFn: async () => {
      const body = { user, context, texts: [text] };
      const [base, mine] = await Promise.all([
        api.send<ScoreResponse>('POST', `/admin/apps/${app}/score`, { ...body, adapter: 'none' }),
        api.send<ScoreResponse>('POST', `/admin/apps/${app}/score`, {
          ...body,
          adapter: 'auto',
          ...(styles.length ? { styles } : {}),
        }),
      ]);
      return { base, mine };
    },
  });
  const b = score.data?.base.results[0];
  const m = score.data?.mine.results[0];
  return (
    <Paper withBorder p="md">
      <Text fw={600} mb="xs">
        Score a candidate
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Textarea
          label="Context"
          value={context}
          onChange={(e) => setContext(e.currentTarget.value)}
          autosize
        />
        <Textarea
          label="Candidate text"
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          autosize
        />
      </SimpleGrid>
      <Group mt="sm">
        <Button
          variant="light"
          onClick={() => score.mutate()}
          loading={score.isPending}
          disabled={!text.trim()}
        >
          Score under both
        </Button>
        {b && m && (
          <Group gap="xs" data-testid="scores">
            <Badge color="gray" variant="light">
              base {num(b.mean_nll, 3)} nats/token
            </Badge>
            <Badge color="violet" variant="light">
              {score.data?.mine.adapter ? `adapter ${score.data.mine.adapter.version}` : 'no adapter'}{' '}
              {num(m.mean_nll, 3)} nats/token
            </Badge>
            <Text size="sm">
              {m.mean_nll < b.mean_nll
                ? 'fits this reader better than the base model'
                : 'fits no better than the base model'}
            </Text>
          </Group>
        )}
      </Group>
    </Paper>
  );
}
