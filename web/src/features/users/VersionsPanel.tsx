// The user's adapter versions: charts across versions, the table with promote, and a rollback after comparing
// both versions side by side.
import { Button, Group, Stack } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation } from '@tanstack/react-query';
import { Empty } from '../../components/states';
import { api } from '../../lib/api';
import type { ActiveFlip, AdapterItem } from '../../lib/types';
import { RollbackModal } from './RollbackModal';
import { VersionCharts } from './VersionCharts';
import { VersionsTable } from './VersionsTable';
import { rollbackTarget } from './versions';

export function VersionsPanel({
  app,
  user,
  adapters,
  onChange,
}: {
  app: string;
  user: string;
  adapters: AdapterItem[];
  onChange: () => void;
}) {
  const [comparing, { open, close }] = useDisclosure();
  const flip = useMutation({
    mutationFn: (req: { kind: 'promote'; version: string } | { kind: 'rollback' }) =>
      req.kind === 'promote'
        ? api.send<ActiveFlip>('POST', '/admin/adapters/promote', { app, user, version: req.version })
        : api.send<ActiveFlip>('POST', '/admin/adapters/rollback', { app, user }),
    onSuccess: (r) => {
      notifications.show({ color: 'teal', message: `Version ${r.active.version} is active` });
      close();
      onChange();
    },
  });
  if (adapters.length === 0)
    return (
      <Empty
        title="No adapter yet"
        description="A training cycle makes one once this user has enough usable feedback (likes and edits)."
      />
    );
  const active = adapters.find((a) => a.status === 'active') ?? null;
  const back = rollbackTarget(adapters);
  return (
    <Stack>
      <VersionCharts adapters={adapters} />
      <Group>
        <Button variant="light" color="orange" disabled={!active || !back} onClick={open}>
          Roll back{back ? ` to ${back.version}` : ''}…
        </Button>
      </Group>
      <VersionsTable adapters={adapters} onPromote={(version) => flip.mutate({ kind: 'promote', version })} />
      <RollbackModal
        app={app}
        user={user}
        active={active}
        back={back}
        opened={comparing}
        onClose={close}
        onRollback={() => flip.mutate({ kind: 'rollback' })}
        busy={flip.isPending}
      />
    </Stack>
  );
}
