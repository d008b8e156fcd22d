// The imports, newest first: the base each makes, where it reads the checkpoint, its status and live progress.
import { Badge, Text } from '@mantine/core';
import { type Column, DataTable } from '../../components/DataTable';
import { Empty } from '../../components/states';
import { ago } from '../../lib/format';
import type { JobItem } from '../../lib/types';
import { JobProgress } from '../training/JobProgress';
import { STATUS_COLOR } from '../training/progress';
import { nameOf, sourceOf } from './report';

export function ImportsTable({ jobs }: { jobs: JobItem[] }) {
  const columns: Column<JobItem>[] = [
    {
      header: 'Base',
      cell: (j) => (
        <Text size="sm" ff="monospace" fw={600}>
          {nameOf(j)}
        </Text>
      ),
    },
    {
      header: 'Checkpoint',
      cell: (j) => (
        <Text size="xs" ff="monospace">
          {sourceOf(j)}
        </Text>
      ),
    },
    {
      header: 'Status',
      cell: (j) => (
        <Badge color={STATUS_COLOR[j.status]} data-testid="import-status">
          {j.status}
        </Badge>
      ),
    },
    {
      header: 'Progress',
      width: '30%',
      cell: (j) =>
        j.error ? (
          <Text size="xs" c="red">
            {j.error}
          </Text>
        ) : (
          <JobProgress job={j} />
        ),
    },
    { header: 'Created', cell: (j) => ago(j.created_at) },
  ];
  return (
    <DataTable
      columns={columns}
      rows={jobs}
      rowKey={(j) => j.id}
      minWidth={640}
      empty={
        <Empty
          title="No imports yet"
          description="Import a Hugging Face checkpoint below, or with `tailor models import <dir> --name <id>`."
        />
      }
      rowProps={(j) => ({ 'data-testid': `import-${j.id}` })}
    />
  );
}
