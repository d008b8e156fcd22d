// The training jobs, newest first: what each trains, its status and live progress; a click opens one.
import { Badge, Button } from '@mantine/core';
import { type Column, DataTable } from '../../components/DataTable';
import { Empty } from '../../components/states';
import { ago } from '../../lib/format';
import type { JobItem } from '../../lib/types';
import { JobProgress } from './JobProgress';
import { STATUS_COLOR, subject } from './progress';

export function JobsTable({ jobs, onOpen }: { jobs: JobItem[]; onOpen: (id: string) => void }) {
  const columns: Column<JobItem>[] = [
    {
      header: 'Job',
      cell: (j) => (
        <Button variant="transparent" p={0} size="compact-sm" ff="monospace" onClick={() => onOpen(j.id)}>
          {j.id}
        </Button>
      ),
    },
    { header: 'Trains', cell: subject },
    {
      header: 'Status',
      cell: (j) => (
        <Badge color={STATUS_COLOR[j.status]} data-testid="job-status">
          {j.status}
        </Badge>
      ),
    },
    {
      header: 'Progress',
      width: '30%',
      cell: (j) => <JobProgress job={j} />,
    },
    { header: 'Created', cell: (j) => ago(j.created_at) },
  ];
  return (
    <DataTable
      columns={columns}
      rows={jobs}
      rowKey={(j) => j.id}
      minWidth={640}
      highlightOnHover
      empty={<Empty title="No training jobs yet" description="Run a cycle, or wait for the scheduled one." />}
      rowProps={(j) => ({
        onClick: () => onOpen(j.id),
        style: { cursor: 'pointer' },
        'data-testid': `job-${j.id}`,
      })}
    />
  );
}
