// One user: their adapter versions (held-out loss across versions, status, what each trained on), promote,
// roll back (after comparing both versions side by side) and erase; their feedback and generations.
import { Anchor, Tabs } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import type { AdapterItem, Page, UserDetail } from '../../lib/types';
import { EraseUser } from './EraseUser';
import { FeedbackTimeline } from './FeedbackTimeline';
import { UserFacts } from './UserFacts';
import { UserGenerations } from './UserGenerations';
import { VersionsPanel } from './VersionsPanel';

export function UserPage() {
  const { app, user } = useParams({ from: '/users/$app/$user' });
  const qc = useQueryClient();
  const navigate = useNavigate();
  const detail = useQuery({
    queryKey: ['user', app, user],
    queryFn: () => api.get<UserDetail>(`/admin/apps/${app}/users/${encodeURIComponent(user)}`),
  });
  const adapters = useQuery({
    queryKey: ['adapters', app, user],
    queryFn: () => api.get<Page<AdapterItem>>(`/admin/apps/${app}/adapters`, { user, limit: 200 }),
  });
  const refresh = () => {
    qc.invalidateQueries({ queryKey: ['user', app, user] });
    qc.invalidateQueries({ queryKey: ['adapters', app, user] });
  };
  const erase = useMutation({
    mutationFn: () => api.send('DELETE', `/admin/apps/${app}/users/${encodeURIComponent(user)}`),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `${user} erased` });
      qc.invalidateQueries({ queryKey: ['users', app] });
      navigate({ to: '/users' });
    },
  });
  return (
    <>
      <PageHeader
        title={user}
        description={
          <>
            <Anchor component={Link} to="/users" size="sm">
              Users
            </Anchor>{' '}
            · {app}
          </>
        }
        actions={<EraseUser user={user} onErase={() => erase.mutate()} busy={erase.isPending} />}
      />
      <QueryView query={detail}>{(d) => <UserFacts user={d} />}</QueryView>
      <Tabs defaultValue="versions" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="versions">Adapter versions</Tabs.Tab>
          <Tabs.Tab value="feedback">Feedback</Tabs.Tab>
          <Tabs.Tab value="generations">Generations</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="versions" pt="md">
          <QueryView query={adapters}>
            {(p) => <VersionsPanel app={app} user={user} adapters={p.items} onChange={refresh} />}
          </QueryView>
        </Tabs.Panel>
        <Tabs.Panel value="feedback" pt="md">
          <FeedbackTimeline app={app} user={user} adapters={adapters.data?.items ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="generations" pt="md">
          <UserGenerations app={app} user={user} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
