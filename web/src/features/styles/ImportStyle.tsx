// Importing a style: a PEFT directory's adapter_config.json and adapter_model.safetensors, sent as base64.
import { Button, FileInput, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../lib/api';

async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function ImportStyle({ app }: { app: string }) {
  const [name, setName] = useState('');
  const [config, setConfig] = useState<File | null>(null);
  const [weights, setWeights] = useState<File | null>(null);
  const qc = useQueryClient();
  const importIt = useMutation({
    mutationFn: async () =>
      api.send('POST', `/admin/apps/${app}/styles/import`, {
        style: name.trim(),
        adapter_config: await base64Of(config as File),
        adapter_model: await base64Of(weights as File),
      }),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `Style ${name} imported and active` });
      qc.invalidateQueries({ queryKey: ['styles', app] });
    },
  });
  return (
    <Paper withBorder p="md">
      <Title order={5} mb="xs">
        Import a PEFT adapter
      </Title>
      <Stack>
        <Text size="sm" c="dimmed">
          A LoRA trained with PEFT against this base model: checked against its shape and rank limit.
        </Text>
        <TextInput label="Style id" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <FileInput label="adapter_config.json" accept=".json" value={config} onChange={setConfig} clearable />
        <FileInput
          label="adapter_model.safetensors"
          accept=".safetensors"
          value={weights}
          onChange={setWeights}
          clearable
        />
        <Group>
          <Button
            onClick={() => importIt.mutate()}
            loading={importIt.isPending}
            disabled={!name.trim() || !config || !weights}
          >
            Import
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
