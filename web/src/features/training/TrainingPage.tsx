// Training: the queue and history of jobs, each with its live progress, loss curve, log and error; a cycle
// run now for the chosen app (or named users of it, or every app).
import { Drawer, SegmentedControl } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import type { JobItem, Page } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { JobDetail } from './JobDetail';
import { JobsTable } from './JobsTable';
import { live } from './progress';
import { RunCycle } from './RunCycle';

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
      <QueryView query={jobs}>{(p) => <JobsTable jobs={p.items} onOpen={setOpen} />}</QueryView>
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
