// What the user page says first: the active version, counts of versions, feedback and generations, last seen.
import { Paper, SimpleGrid, Text } from '@mantine/core';
import { ago, num } from '../../lib/format';
import type { UserDetail } from '../../lib/types';

export function UserFacts({ user: d }: { user: UserDetail }) {
  return (
    <SimpleGrid cols={{ base: 2, md: 5 }} mb="md">
      <Fact
        label="Active version"
        value={d.training_opted_out_at ? 'none (opted out of training)' : (d.active_version ?? 'none')}
        testid="active-version"
      />
      <Fact label="Versions" value={num(d.versions)} />
      <Fact
        label="Feedback"
        value={`${d.feedback.likes} likes · ${d.feedback.dislikes} dislikes · ${d.feedback.edits} edits`}
      />
      <Fact label="Generations" value={num(d.generations)} />
      <Fact label="Last seen" value={ago(d.last_seen)} />
    </SimpleGrid>
  );
}

function Fact({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={600} data-testid={testid}>
        {value}
      </Text>
    </Paper>
  );
}
