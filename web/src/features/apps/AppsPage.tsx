// Apps: the list with users and volume, creating one (its key and secret shown once), and the chosen app's
// settings, API keys and signing secrets, and the effect of personalization (its holdout experiment).
import { Alert, Badge, Button, Group, Modal, Stack, Tabs, Text, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Column, DataTable } from '../../components/DataTable';
import { Secret } from '../../components/Secret';
import { Empty, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago, num } from '../../lib/format';
import type { AppSummary, CreatedApp } from '../../lib/types';
import { useApps, useCurrentApp } from '../layout/useApps';
import { EffectPanel } from './EffectPanel';
import { KeysPanel } from './KeysPanel';
import { SettingsForm } from './SettingsForm';

export function AppsPage() {
  const apps = useApps();
  const [current, setCurrent] = useCurrentApp();
  const [opened, { open, close }] = useDisclosure();
  return (
    <>
      <PageHeader
        title="Apps"
        description="Each app has its users, API keys, signing secrets and settings."
        actions={<Button onClick={open}>New app</Button>}
      />
      <CreateAppModal opened={opened} onClose={close} onCreated={(id) => setCurrent(id)} />
      <QueryView query={apps}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty
              title="No apps yet"
              description="An app gets an API key for its server and a signing secret for user tokens."
            >
              <Button onClick={open}>Create the first app</Button>
            </Empty>
          ) : (
            <Stack>
              <DataTable
                columns={appColumns(setCurrent)}
                rows={page.items}
                rowKey={(a) => a.id}
                minWidth={560}
                highlightOnHover
                verticalSpacing="xs"
                rowProps={(a) => ({
                  onClick: () => setCurrent(a.id),
                  bg: a.id === current ? 'var(--mantine-primary-color-light)' : undefined,
                  style: { cursor: 'pointer' },
                })}
              />
              {current && (
                <AppDetail appId={current} name={page.items.find((a) => a.id === current)?.name ?? current} />
              )}
            </Stack>
          )
        }
      </QueryView>
    </>
  );
}

const appColumns = (choose: (id: string) => void): Column<AppSummary>[] => [
  {
    header: 'App',
    cell: (a) => (
      <Button variant="transparent" p={0} onClick={() => choose(a.id)}>
        {a.name}
      </Button>
    ),
  },
  {
    header: 'Id',
    cell: (a) => (
      <Text size="xs" ff="monospace">
        {a.id}
      </Text>
    ),
  },
  { header: 'Users', align: 'right', cell: (a) => num(a.users) },
  { header: 'Generations, 7 d', align: 'right', cell: (a) => num(a.generations_7d) },
  { header: 'Feedback, 7 d', align: 'right', cell: (a) => num(a.feedback_7d) },
  { header: 'Created', cell: (a) => ago(a.created_at) },
];

function AppDetail({ appId, name }: { appId: string; name: string }) {
  return (
    <Tabs defaultValue="settings" keepMounted={false}>
      <Group mb="xs">
        <Text fw={600}>{name}</Text>
        <Badge variant="light">{appId}</Badge>
      </Group>
      <Tabs.List>
        <Tabs.Tab value="settings">Settings</Tabs.Tab>
        <Tabs.Tab value="keys">Keys and secrets</Tabs.Tab>
        <Tabs.Tab value="effect">Effect</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="settings" pt="md">
        <SettingsForm appId={appId} />
      </Tabs.Panel>
      <Tabs.Panel value="keys" pt="md">
        <KeysPanel appId={appId} />
      </Tabs.Panel>
      <Tabs.Panel value="effect" pt="md">
        <EffectPanel appId={appId} />
      </Tabs.Panel>
    </Tabs>
  );
}

function CreateAppModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (id: string) => void;
}) {
  const [name, setName] = useState('');
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: (n: string) => api.send<CreatedApp>('POST', '/admin/apps', { name: n }),
    onSuccess: (made) => {
      qc.invalidateQueries({ queryKey: ['apps'] });
      onCreated(made.app_id);
    },
  });
  const done = () => {
    setName('');
    create.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={done} title="New app">
      {create.data ? (
        <Stack>
          <Alert color="yellow" title="Shown this once">
            Keep the API key and the signing secret now: Tailor keeps only a hash of the key, and shows the
            secret only here.
          </Alert>
          <Secret label="API key" value={create.data.api_key} />
          <Secret label="Signing secret" value={create.data.signing_secret} />
          <Button onClick={done}>Done</Button>
        </Stack>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(name.trim());
          }}
        >
          <Stack>
            <TextInput
              label="Name"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              required
              maxLength={100}
              data-autofocus
            />
            <Button type="submit" loading={create.isPending} disabled={!name.trim()}>
              Create
            </Button>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
