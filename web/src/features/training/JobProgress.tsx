// A job's live progress as a table cell shows it: the bar, in its status colour, and the one-line summary.
import { Progress, Text } from '@mantine/core';
import type { JobItem } from '../../lib/types';
import { percent, STATUS_COLOR, summary } from './progress';

export function JobProgress({ job }: { job: JobItem }) {
  return (
    <>
      <Progress
        value={percent(job)}
        color={STATUS_COLOR[job.status]}
        animated={job.status === 'running'}
        aria-label="progress"
      />
      <Text size="xs" c="dimmed">
        {summary(job)}
      </Text>
    </>
  );
}
