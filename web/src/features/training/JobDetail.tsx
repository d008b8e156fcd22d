// One training job, polled while it runs: status, progress, times and attempts, its error, the loss curve,
// each user's outcome and the log.
import { LineChart } from '@mantine/charts';
import { Alert, Badge, Code, Group, Progress, ScrollArea, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { ChartCard, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { dateTime } from '../../lib/format';
import type { JobItem } from '../../lib/types';
import { JobOutcomes } from './JobOutcomes';
import { curveRows, live, percent, STATUS_COLOR, subject, summary } from './progress';

export function JobDetail({ id }: { id: string }) {
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
          {j.result && 'users' in j.result && <JobOutcomes result={j.result} />}
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
