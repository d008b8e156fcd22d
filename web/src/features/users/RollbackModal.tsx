// Rolling a user back: the active version and the one a rollback makes active again, side by side, then the
// rollback itself.
import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { SideBySide } from '../../components/SideBySide';
import type { AdapterItem } from '../../lib/types';

export function RollbackModal({
  app,
  user,
  active,
  back,
  opened,
  onClose,
  onRollback,
  busy,
}: {
  app: string;
  user: string;
  active: AdapterItem | null;
  back: AdapterItem | null;
  opened: boolean;
  onClose: () => void;
  onRollback: () => void;
  busy: boolean;
}) {
  return (
    <Modal opened={opened} onClose={onClose} title={`Roll back ${user}`} size="xl">
      {active && back && (
        <Stack>
          <Text size="sm">
            Compare the active version {active.version} with {back.version}, which a rollback makes active
            again.
          </Text>
          <SideBySide
            app={app}
            user={user}
            sides={[
              { label: `Active: ${active.version}`, adapter: { version: active.version } },
              { label: `After rollback: ${back.version}`, adapter: { version: back.version } },
            ]}
          />
          <Group justify="flex-end">
            <Button color="orange" onClick={onRollback} loading={busy}>
              Roll back to {back.version}
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
