// An app's API keys (add, revoke) and signing secrets (rotate with an overlap).
import { Alert, Badge, Button, Group, Modal, NumberInput, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Column, DataTable } from '../../components/DataTable';
import { Secret } from '../../components/Secret';
import { QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago, dateTime } from '../../lib/format';
import type { ApiKey, CreatedApiKey, RotatedSecret, SigningSecret } from '../../lib/types';

const secretColumns: Column<SigningSecret>[] = [
  { header: 'kid', cell: (x) => x.kid, cellProps: { ff: 'monospace' } },
  { header: 'Created', cell: (x) => ago(x.created_at) },
  {
    header: 'Retires',
    cell: (x) =>
      x.retires_at === null ? (
        <Badge color="teal">current</Badge>
      ) : new Date(x.retires_at).getTime() > Date.now() ? (
        <Badge color="yellow">{dateTime(x.retires_at)}</Badge>
      ) : (
        <Badge color="gray">retired</Badge>
      ),
  },
];

export function KeysPanel({ appId }: { appId: string }) {
  const qc = useQueryClient();
  const keys = useQuery({
    queryKey: ['keys', appId],
    queryFn: () => api.get<{ items: ApiKey[] }>(`/admin/apps/${appId}/keys`),
  });
  const secrets = useQuery({
    queryKey: ['secrets', appId],
    queryFn: () => api.get<{ items: SigningSecret[] }>(`/admin/apps/${appId}/signing-secrets`),
  });
  const add = useMutation({
    mutationFn: () => api.send<CreatedApiKey>('POST', `/admin/apps/${appId}/keys`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['keys', appId] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.send<ApiKey>('DELETE', `/admin/apps/${appId}/keys/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['keys', appId] }),
  });
  const keyColumns: Column<ApiKey>[] = [
    { header: 'Key', cell: (k) => `${k.prefix}…`, cellProps: { ff: 'monospace' } },
    { header: 'Created', cell: (k) => ago(k.created_at) },
    {
      header: 'Status',
      cell: (k) =>
        k.revoked_at ? (
          <Badge color="gray">revoked {ago(k.revoked_at)}</Badge>
        ) : (
          <Badge color="teal">active</Badge>
        ),
    },
    {
      align: 'right',
      cell: (k) =>
        !k.revoked_at && (
          <Button
            size="xs"
            color="red"
            variant="subtle"
            onClick={() => revoke.mutate(k.id)}
            loading={revoke.isPending && revoke.variables === k.id}
          >
            Revoke
          </Button>
        ),
    },
  ];
  const [overlapH, setOverlapH] = useState<number | string>(24);
  const rotate = useMutation({
    mutationFn: () =>
      api.send<RotatedSecret>('POST', `/admin/apps/${appId}/signing-secrets/rotate`, {
        overlap_s: Math.round(Number(overlapH) * 3600),
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['secrets', appId] }),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={4}>API keys</Title>
        <Button variant="light" onClick={() => add.mutate()} loading={add.isPending}>
          Add a key
        </Button>
      </Group>
      <Text size="sm" c="dimmed">
        To rotate: add a key, move the app's server to it, then revoke the old one.
      </Text>
      <QueryView query={keys}>
        {({ items }) => <DataTable columns={keyColumns} rows={items} rowKey={(k) => k.id} minWidth={480} />}
      </QueryView>
      <Modal opened={!!add.data} onClose={() => add.reset()} title="New API key">
        {add.data && (
          <Stack>
            <Alert color="yellow">Shown this once: Tailor keeps only its hash.</Alert>
            <Secret label="API key" value={add.data.api_key} />
            <Button onClick={() => add.reset()}>Done</Button>
          </Stack>
        )}
      </Modal>

      <Title order={4} mt="md">
        Signing secrets
      </Title>
      <Text size="sm" c="dimmed">
        User tokens are JWTs signed with the current secret; put its <code>kid</code> in the token header.
        After a rotation, tokens signed with the previous secrets keep working until the overlap ends.
      </Text>
      <QueryView query={secrets}>
        {({ items }) => (
          <DataTable columns={secretColumns} rows={items} rowKey={(x) => x.kid} minWidth={480} />
        )}
      </QueryView>
      <Group align="flex-end">
        <NumberInput
          label="Overlap (hours)"
          min={0}
          max={720}
          value={overlapH}
          onChange={setOverlapH}
          w={160}
        />
        <Button variant="light" color="orange" onClick={() => rotate.mutate()} loading={rotate.isPending}>
          Rotate the secret
        </Button>
      </Group>
      <Modal opened={!!rotate.data} onClose={() => rotate.reset()} title="New signing secret">
        {rotate.data && (
          <Stack>
            <Alert color="yellow">Shown this once. Sign new tokens with it and kid {rotate.data.kid}.</Alert>
            <Secret label="kid" value={rotate.data.kid} />
            <Secret label="Signing secret" value={rotate.data.signing_secret} />
            <Button onClick={() => rotate.reset()}>Done</Button>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}
