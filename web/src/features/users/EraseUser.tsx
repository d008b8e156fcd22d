// Erasing a user asks for their id typed again: the button works only once it matches.
import { Alert, Button, Modal, Stack, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';

export function EraseUser({ user, onErase, busy }: { user: string; onErase: () => void; busy?: boolean }) {
  const [opened, { open, close }] = useDisclosure();
  const [typed, setTyped] = useState('');
  return (
    <>
      <Button color="red" variant="light" onClick={open}>
        Erase user
      </Button>
      <Modal opened={opened} onClose={close} title={`Erase ${user}`}>
        <Stack>
          <Alert color="red">
            Their generations, feedback, adapter versions and files are deleted. This cannot be undone.
          </Alert>
          <TextInput
            label="Type the user id to confirm"
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            autoComplete="off"
            data-autofocus
          />
          <Button
            color="red"
            disabled={typed !== user}
            loading={busy}
            onClick={() => {
              onErase();
              close();
            }}
          >
            Erase {user}
          </Button>
        </Stack>
      </Modal>
    </>
  );
}
