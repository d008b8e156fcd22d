// Audit log: who did what and when, newest first, filtered by app and action.
import { Badge, Button, Code, Group, Select, Table, Text } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
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
          if (!items.length)
            return (
              <Empty
                title="Nothing recorded"
                description="Creating apps, changing settings, promoting, rolling back and erasing are recorded here."
              />
            );
          return (
            <>
              <Table.ScrollContainer minWidth={720}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>When</Table.Th>
                      <Table.Th>Who</Table.Th>
                      <Table.Th>Action</Table.Th>
                      <Table.Th>App</Table.Th>
                      <Table.Th>Subject</Table.Th>
                      <Table.Th>Details</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {items.map((e) => (
                      <Table.Tr key={e.id}>
                        <Table.Td>
                          <Text size="sm">{dateTime(e.at)}</Text>
                        </Table.Td>
                        <Table.Td>{e.actor}</Table.Td>
                        <Table.Td>
                          <Badge variant="light">{e.action}</Badge>
                        </Table.Td>
                        <Table.Td>{name(e.app_id)}</Table.Td>
                        <Table.Td ff="monospace">{e.subject ?? '—'}</Table.Td>
                        <Table.Td>
                          {Object.keys(e.details).length ? (
                            <Code>
                              {Object.entries(e.details)
                                .map(([k, v]) => `${k}=${v}`)
                                .join(' ')}
                            </Code>
                          ) : (
                            '—'
                          )}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
              {log.hasNextPage && (
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
