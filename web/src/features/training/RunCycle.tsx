// Running a training cycle now: every due user of the chosen app, or the users named whatever the schedule.
import { Button, Group, Paper, TagsInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../lib/api';
import type { TrainingRunResponse } from '../../lib/types';

export function RunCycle({ app, onRun }: { app: string | null; onRun: (job: string) => void }) {
  const [users, setUsers] = useState<string[]>([]);
  const qc = useQueryClient();
  const run = useMutation({
    mutationFn: () =>
      api.send<TrainingRunResponse>('POST', '/admin/training/run', {
        ...(app ? { app } : {}),
        ...(users.length ? { users } : {}),
      }),
    onSuccess: (r) => {
      qc.invalidateQueries({ queryKey: ['jobs'] });
      const first = r.jobs[0];
      notifications.show({
        color: r.jobs.length ? 'teal' : 'gray',
        message: r.jobs.length
          ? `${r.jobs.length} job${r.jobs.length > 1 ? 's' : ''} enqueued`
          : 'Nobody is due: no user has enough new usable feedback',
      });
      if (first) onRun(first.id);
    },
  });
  return (
    <Paper withBorder p="md" mb="md">
      <Group align="flex-end">
        <TagsInput
          label="Users (optional)"
          description="Named users train whatever the schedule; otherwise every due user of the app"
          placeholder="reader-1"
          value={users}
          onChange={setUsers}
          w={360}
          maw="100%"
        />
        <Button onClick={() => run.mutate()} loading={run.isPending} disabled={!app}>
          Run a cycle now
        </Button>
      </Group>
    </Paper>
  );
}
