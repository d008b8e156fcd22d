// Training: the queue and history of jobs, each with its live progress, loss curve, log and error; a cycle
// run now for the chosen app (or named users of it, or every app).
import { LineChart } from '@mantine/charts';
import {
  Alert,
  Badge,
  Button,
  Code,
  Drawer,
  Group,
  Paper,
  Progress,
  ScrollArea,
  SegmentedControl,
  Stack,
  Table,
  TagsInput,
  Text,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ChartCard, Empty, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago, dateTime, num } from '../../lib/format';
import type { JobItem, Page, TrainingRunResponse, TrainUsersResult } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { curveRows, percent, subject, summary } from './progress';

const STATUS_COLOR = { queued: 'gray', running: 'blue', succeeded: 'teal', failed: 'red' } as const;
const live = (jobs: JobItem[] | undefined) =>
  jobs?.some((j) => j.status === 'queued' || j.status === 'running');

export function TrainingPage() {
  const [app] = useCurrentApp();
  const [scope, setScope] = useState<'app' | 'all'>('app');
  const [open, setOpen] = useState<string | null>(null);
  const jobs = useQuery({
    queryKey: ['jobs', scope === 'app' ? app : null],
    queryFn: () => api.get<Page<JobItem>>('/admin/jobs', { app: scope === 'app' ? app : null, limit: 100 }),
    refetchInterval: (q) => (live(q.state.data?.items) ? 1500 : 10_000),
  });
  return (
    <>
      <PageHeader
        title="Training"
        description="Cycles retrain each due user's adapter from their feedback; a version is published only if it beats the one before on held-out feedback."
        actions={
          <SegmentedControl
            aria-label="Jobs of"
            value={scope}
            onChange={(v) => setScope(v as 'app' | 'all')}
            data={[
              { value: 'app', label: 'This app', disabled: !app },
              { value: 'all', label: 'All apps' },
            ]}
          />
        }
      />
      <RunCycle app={app} onRun={(id) => setOpen(id)} />
      <QueryView query={jobs}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty title="No training jobs yet" description="Run a cycle, or wait for the scheduled one." />
          ) : (
            <Table.ScrollContainer minWidth={640}>
              <Table highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Job</Table.Th>
                    <Table.Th>Trains</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th w="30%">Progress</Table.Th>
                    <Table.Th>Created</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {p.items.map((j) => (
                    <Table.Tr
                      key={j.id}
                      onClick={() => setOpen(j.id)}
                      style={{ cursor: 'pointer' }}
                      data-testid={`job-${j.id}`}
                    >
                      <Table.Td>
                        <Button
                          variant="transparent"
                          p={0}
                          size="compact-sm"
                          ff="monospace"
                          onClick={() => setOpen(j.id)}
                        >
                          {j.id}
                        </Button>
                      </Table.Td>
                      <Table.Td>{subject(j)}</Table.Td>
                      <Table.Td>
                        <Badge color={STATUS_COLOR[j.status]} data-testid="job-status">
                          {j.status}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        <Progress
                          value={percent(j)}
                          color={STATUS_COLOR[j.status]}
                          animated={j.status === 'running'}
                          aria-label="progress"
                        />
                        <Text size="xs" c="dimmed">
                          {summary(j)}
                        </Text>
                      </Table.Td>
                      <Table.Td>{ago(j.created_at)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </QueryView>
      <Drawer
        opened={open !== null}
        onClose={() => setOpen(null)}
        position="right"
        size="lg"
        title={open ?? ''}
      >
        {open && <JobDetail id={open} />}
      </Drawer>
    </>
  );
}

function RunCycle({ app, onRun }: { app: string | null; onRun: (job: string) => void }) {
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

function JobDetail({ id }: { id: string }) {
  const job = useQuery({
    queryKey: ['job', id],
    queryFn: () => api.get<JobItem>(`/admin/jobs/${id}`),
    refetchInterval: (q) => (live(q.state.data ? [q.state.data] : undefined) ? 1000 : false),
  });
  return (
    <QueryView query={job}>
      {(j) => (
        <Stack>
          <Group>
            <Badge color={STATUS_COLOR[j.status]} size="lg" data-testid="detail-status">
              {j.status}
            </Badge>
            <Text size="sm">{subject(j)}</Text>
          </Group>
          <Progress value={percent(j)} size="lg" animated={j.status === 'running'} />
          <Text size="sm" data-testid="detail-summary">
            {summary(j)}
          </Text>
          <Text size="xs" c="dimmed">
            created {dateTime(j.created_at)} · started {dateTime(j.started_at)} · finished{' '}
            {dateTime(j.finished_at)} · attempt {j.attempts} of {j.max_attempts}
          </Text>
          {j.error && (
            <Alert color="red" title="Error">
              <Code block>{j.error}</Code>
            </Alert>
          )}
          <ChartCard title="Training loss" hint="Mean over the users still training, each step">
            {curveRows(j).length ? (
              <LineChart
                h={200}
                data={curveRows(j)}
                dataKey="step"
                withDots={false}
                yAxisProps={{ domain: ['auto', 'auto'] }}
                series={[{ name: 'Loss', color: 'violet.6' }]}
              />
            ) : (
              <Text size="sm" c="dimmed">
                No steps yet.
              </Text>
            )}
          </ChartCard>
          {j.result && 'users' in j.result && <Outcomes result={j.result} />}
          <Text fw={600}>Log</Text>
          <ScrollArea h={260} type="auto">
            <Code block data-testid="job-log">
              {j.log || '(empty)'}
            </Code>
          </ScrollArea>
        </Stack>
      )}
    </QueryView>
  );
}

function Outcomes({ result }: { result: TrainUsersResult }) {
  if (!result.users.length && !result.skipped.length && !result.failed?.length) return null;
  return (
    <Table>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>User</Table.Th>
          <Table.Th>Outcome</Table.Th>
          <Table.Th ta="right">Held-out loss</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {result.users.map((r) => (
          <Table.Tr key={`${r.user}-${r.version}`}>
            <Table.Td>{r.user}</Table.Td>
            <Table.Td>
              <Badge color={r.status === 'active' ? 'teal' : 'orange'} variant="light">
                {r.status === 'active' ? `promoted ${r.version}` : `rejected ${r.version}`}
              </Badge>
            </Table.Td>
            <Table.Td ta="right">
              {num(r.heldout_loss_after, 3)} vs {num(r.baseline_heldout_loss, 3)} ({r.baseline})
            </Table.Td>
          </Table.Tr>
        ))}
        {(result.failed ?? []).map((r) => (
          <Table.Tr key={`failed-${r.user}`}>
            <Table.Td>{r.user}</Table.Td>
            <Table.Td colSpan={2}>
              <Badge color="red" variant="light">
                not published
              </Badge>{' '}
              {r.reason}
            </Table.Td>
          </Table.Tr>
        ))}
        {result.skipped.map((r) => (
          <Table.Tr key={`skip-${r.user}`}>
            <Table.Td>{r.user}</Table.Td>
            <Table.Td colSpan={2}>skipped: {r.reason}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
