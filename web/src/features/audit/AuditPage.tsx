// Audit log: who did what and when, newest first, filtered by app and action.
import { Badge, Button, Code, Group, Select, Text } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type Column, DataTable } from '../../components/DataTable';
import { Empty, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { dateTime } from '../../lib/format';
import type { AuditEntry, Page } from '../../lib/types';
import { useApps } from '../layout/useApps';

export const ACTIONS = [
  'app.created',
  'settings.changed',
  'key.created',
  'key.revoked',
  'signing_secret.rotated',
  'adapter.promoted',
  'adapter.rolled_back',
  'user.erased',
  'training.run',
  'style.training',
  'style.imported',
  'user.training_disabled',
  'user.training_enabled',
];

export function AuditPage() {
  const apps = useApps().data?.items ?? [];
  const [app, setApp] = useState<string | null>(null);
  const [action, setAction] = useState<string | null>(null);
  const log = useInfiniteQuery({
    queryKey: ['audit', app, action],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api.get<Page<AuditEntry>>('/admin/audit', { app, action, cursor: pageParam, limit: 50 }),
    getNextPageParam: (last) => last.next_cursor,
  });
  const name = (id: string | null) => (id ? (apps.find((a) => a.id === id)?.name ?? id) : '—');
  const columns: Column<AuditEntry>[] = [
    { header: 'When', cell: (e) => <Text size="sm">{dateTime(e.at)}</Text> },
    { header: 'Who', cell: (e) => e.actor },
    { header: 'Action', cell: (e) => <Badge variant="light">{e.action}</Badge> },
    { header: 'App', cell: (e) => name(e.app_id) },
    { header: 'Subject', cell: (e) => e.subject ?? '—', cellProps: { ff: 'monospace' } },
    {
      header: 'Details',
      cell: (e) =>
        Object.keys(e.details).length ? (
          <Code>
            {Object.entries(e.details)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}
          </Code>
        ) : (
          '—'
        ),
    },
  ];
  return (
    <>
      <PageHeader title="Audit log" description="Written by the API as each change succeeds." />
      <Group mb="md">
        <Select
          placeholder="Every app"
          aria-label="Filter by app"
          data={apps.map((a) => ({ value: a.id, label: a.name }))}
          value={app}
          onChange={setApp}
          clearable
        />
        <Select
          placeholder="Every action"
          aria-label="Filter by action"
          data={ACTIONS}
          value={action}
          onChange={setAction}
          clearable
        />
      </Group>
      <QueryView query={log}>
        {(data) => {
          const items = data.pages.flatMap((p) => p.items);
          return (
            <>
              <DataTable
                columns={columns}
                rows={items}
                rowKey={(e) => e.id}
                minWidth={720}
                empty={
                  <Empty
                    title="Nothing recorded"
                    description="Creating apps, changing settings, promoting, rolling back and erasing are recorded here."
                  />
                }
              />
              {items.length > 0 && log.hasNextPage && (
                <Group justify="center" mt="md">
                  <Button
                    variant="light"
                    onClick={() => log.fetchNextPage()}
                    loading={log.isFetchingNextPage}
                  >
                    Older entries
                  </Button>
                </Group>
              )}
            </>
          );
        }}
      </QueryView>
    </>
  );
}
