// Users of the chosen app: search by the start of an id, newest first, a page at a time.
import { Button, Group, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { type Column, DataTable } from '../../components/DataTable';
import { Empty, NeedApp, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago } from '../../lib/format';
import type { EndUser, Page } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';

export function UsersPage() {
  const [app] = useCurrentApp();
  const [q, setQ] = useState('');
  const [search] = useDebouncedValue(q.trim(), 250);
  const users = useInfiniteQuery({
    queryKey: ['users', app, search],
    enabled: !!app,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api.get<Page<EndUser>>(`/admin/apps/${app}/users`, { q: search, cursor: pageParam, limit: 50 }),
    getNextPageParam: (last) => last.next_cursor,
  });
  if (!app) return <NeedApp />;
  const columns: Column<EndUser>[] = [
    {
      header: 'User',
      cell: (u) => (
        <Link to="/users/$app/$user" params={{ app, user: u.user }}>
          {u.user}
        </Link>
      ),
    },
    { header: 'First seen', cell: (u) => ago(u.created_at) },
    { header: 'Last seen', cell: (u) => ago(u.last_seen) },
  ];
  return (
    <>
      <PageHeader title="Users" description="The readers of this app, newest first." />
      <TextInput
        placeholder="Find a user by the start of their id"
        aria-label="Find a user"
        value={q}
        onChange={(e) => setQ(e.currentTarget.value)}
        mb="md"
        maw={420}
      />
      <QueryView query={users}>
        {(data) => {
          const items = data.pages.flatMap((p) => p.items);
          return (
            <>
              <DataTable
                columns={columns}
                rows={items}
                rowKey={(u) => u.user}
                minWidth={420}
                highlightOnHover
                empty={
                  <Empty
                    title={search ? `No user id starts with “${search}”` : 'No users yet'}
                    description="A user appears with their first generation or feedback."
                  />
                }
              />
              {items.length > 0 && users.hasNextPage && (
                <Group justify="center" mt="md">
                  <Button
                    variant="light"
                    onClick={() => users.fetchNextPage()}
                    loading={users.isFetchingNextPage}
                  >
                    More users
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
