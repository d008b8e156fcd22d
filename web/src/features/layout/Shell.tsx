// The frame of every page: a navigation bar (a drawer on a phone), the app picker and sign-out.
import { AppShell, Burger, Button, Group, NavLink, Select, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useRouterState } from '@tanstack/react-router';
import { session } from '../../lib/session';
import { SignIn } from '../auth/SignIn';
import { useCurrentApp } from './useApps';
import { useSession } from './useSession';

const PAGES = [
  { to: '/', label: 'Overview' },
  { to: '/apps', label: 'Apps' },
  { to: '/users', label: 'Users' },
  { to: '/training', label: 'Training' },
  { to: '/playground', label: 'Playground' },
  { to: '/styles', label: 'Styles' },
  { to: '/model', label: 'Model' },
  { to: '/audit', label: 'Audit log' },
] as const;

export function Shell() {
  const token = useSession();
  return token ? <SignedIn /> : <SignIn />;
}

function SignedIn() {
  const [opened, { toggle, close }] = useDisclosure();
  const path = useRouterState({ select: (s) => s.location.pathname });
  const [app, setApp, apps] = useCurrentApp();
  const queryClient = useQueryClient();
  const signOut = () => {
    session.signOut();
    queryClient.clear();
  };
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap" gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Navigation" />
            <Title order={4}>Tailor</Title>
          </Group>
          <Group wrap="nowrap" gap="sm">
            <Select
              aria-label="App"
              placeholder={apps.length ? 'App' : 'No apps yet'}
              data={apps.map((a) => ({ value: a.id, label: a.name }))}
              value={app}
              onChange={setApp}
              w={{ base: 140, sm: 220 }}
              allowDeselect={false}
              searchable
            />
            <Button variant="subtle" onClick={signOut}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {PAGES.map((p) => (
          <NavLink
            key={p.to}
            component={Link}
            to={p.to}
            label={p.label}
            active={p.to === '/' ? path === '/' : path.startsWith(p.to)}
            onClick={close}
          />
        ))}
        <Text size="xs" c="dimmed" mt="auto" p="xs">
          API reference: <a href="/docs">/docs</a>
        </Text>
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
