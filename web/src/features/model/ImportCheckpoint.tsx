// Importing a checkpoint directory the server can read (under its import roots) as a new base: the strict
// reader checks it before anything is queued, and its refusal, naming the field, shows here.
import { Alert, Button, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { describeError } from '../../lib/errors';
import { useImportModel } from './useModels';

export function ImportCheckpoint() {
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const importIt = useImportModel();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    importIt.mutate(
      { name: name.trim(), path: path.trim() },
      {
        onSuccess: () => {
          setName('');
          setPath('');
        },
      },
    );
  };
  return (
    <Paper withBorder p="md">
      <Title order={5} mb="xs">
        Import a checkpoint
      </Title>
      <form onSubmit={submit}>
        <Stack>
          <Text size="sm" c="dimmed">
            A Hugging Face checkpoint directory (Llama, Mistral or Qwen2; safetensors) under the server's
            import roots: converted, checked against transformers, measured and published as a base.
          </Text>
          <Group align="flex-start" grow>
            <TextInput
              label="Name"
              description="The base's id: lowercase letters, digits, '.', '_' and '-'"
              placeholder="smollm2-135m"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <TextInput
              label="Server path"
              description="A directory under the configured import roots"
              placeholder="/models/SmolLM2-135M"
              value={path}
              onChange={(e) => setPath(e.currentTarget.value)}
            />
          </Group>
          {importIt.isError && (
            <Alert color="red" role="alert" title="Not imported">
              {describeError(importIt.error)}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={importIt.isPending} disabled={!name.trim() || !path.trim()}>
              Import
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
