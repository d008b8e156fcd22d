// Styles: app-level adapters every user's generation can mix in. Train one from texts or a Brown genre,
// import a PEFT directory (its adapter_config.json and adapter_model.safetensors), read samples of one.
import {
  Badge,
  Button,
  FileInput,
  Group,
  Modal,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Empty, NeedApp, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago } from '../../lib/format';
import type { GenerateResponse, ModelCard } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { useStyles } from './useStyles';

const SAMPLE_PROMPTS = ['The night was', 'She opened the letter and', 'At the edge of the town'];

export function StylesPage() {
  const [app] = useCurrentApp();
  const styles = useStyles(app);
  const [sampling, setSampling] = useState<string | null>(null);
  if (!app) return <NeedApp />;
  return (
    <>
      <PageHeader
        title="Styles"
        description="App-level adapters mixed into generations with a weight: a genre, a voice, a house style."
      />
      <Stack>
        <QueryView query={styles}>
          {({ items }) =>
            items.length === 0 ? (
              <Empty
                title="No styles yet"
                description="Train one from a Brown genre or your own texts below, or import a PEFT adapter."
              />
            ) : (
              <Table.ScrollContainer minWidth={480}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Style</Table.Th>
                      <Table.Th>Active version</Table.Th>
                      <Table.Th ta="right">Versions</Table.Th>
                      <Table.Th>Last trained</Table.Th>
                      <Table.Th />
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {items.map((s) => (
                      <Table.Tr key={s.style}>
                        <Table.Td fw={600}>{s.style}</Table.Td>
                        <Table.Td>
                          {s.active_version ? (
                            <Badge variant="light">{s.active_version}</Badge>
                          ) : (
                            <Badge color="gray">none</Badge>
                          )}
                        </Table.Td>
                        <Table.Td ta="right">{s.versions}</Table.Td>
                        <Table.Td>{ago(s.updated_at)}</Table.Td>
                        <Table.Td ta="right">
                          <Button
                            size="xs"
                            variant="subtle"
                            disabled={!s.active_version}
                            onClick={() => setSampling(s.style)}
                          >
                            Samples
                          </Button>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )
          }
        </QueryView>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <TrainStyle app={app} />
          <ImportStyle app={app} />
        </SimpleGrid>
      </Stack>
      <Modal
        opened={sampling !== null}
        onClose={() => setSampling(null)}
        title={`Samples of ${sampling ?? ''}`}
        size="lg"
      >
        {sampling && <Samples app={app} style={sampling} />}
      </Modal>
    </>
  );
}

function Samples({ app, style }: { app: string; style: string }) {
  const samples = useQuery({
    queryKey: ['samples', app, style],
    queryFn: () =>
      Promise.all(
        SAMPLE_PROMPTS.map((prompt, i) =>
          api.send<GenerateResponse>('POST', `/admin/apps/${app}/generate`, {
            user: 'console-samples',
            prompt,
            adapter: 'none',
            styles: [{ id: style, weight: 1 }],
            max_tokens: 40,
            seed: i + 1,
          }),
        ),
      ),
  });
  return (
    <QueryView query={samples}>
      {(rows) => (
        <Stack>
          {rows.map((g, i) => (
            <Paper key={g.id} withBorder p="sm">
              <Text size="sm">
                <Text span c="dimmed">
                  {SAMPLE_PROMPTS[i]}
                </Text>
                {g.text}
              </Text>
            </Paper>
          ))}
        </Stack>
      )}
    </QueryView>
  );
}

function TrainStyle({ app }: { app: string }) {
  const [name, setName] = useState('');
  const [source, setSource] = useState<'genre' | 'texts'>('genre');
  const [genre, setGenre] = useState<string | null>('mystery');
  const [texts, setTexts] = useState('');
  const model = useQuery({ queryKey: ['model'], queryFn: () => api.get<ModelCard>('/admin/model') });
  const genres = (model.data?.perplexity ?? []).map((p) => p.split).filter((g) => g !== 'all');
  const qc = useQueryClient();
  const train = useMutation({
    mutationFn: () =>
      api.send<{ job: { id: string } }>('POST', `/admin/apps/${app}/styles`, {
        style: name.trim(),
        ...(source === 'genre'
          ? { genre }
          : {
              texts: texts
                .split(/\n\s*\n/)
                .map((t) => t.trim())
                .filter(Boolean),
            }),
      }),
    onSuccess: (r) => {
      notifications.show({
        color: 'teal',
        message: `Training job ${r.job.id} enqueued: follow it on the Training page`,
      });
      qc.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
  return (
    <Paper withBorder p="md">
      <Title order={5} mb="xs">
        Train a style
      </Title>
      <Stack>
        <TextInput
          label="Style id"
          placeholder="noir"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        <SegmentedControl
          value={source}
          onChange={(v) => setSource(v as 'genre' | 'texts')}
          data={[
            { value: 'genre', label: 'A Brown genre' },
            { value: 'texts', label: 'Texts' },
          ]}
        />
        {source === 'genre' ? (
          <Select label="Genre" data={genres} value={genre} onChange={setGenre} />
        ) : (
          <Textarea
            label="Texts, separated by a blank line"
            autosize
            minRows={4}
            value={texts}
            onChange={(e) => setTexts(e.currentTarget.value)}
          />
        )}
        <Group>
          <Button
            onClick={() => train.mutate()}
            loading={train.isPending}
            disabled={!name.trim() || (source === 'genre' ? !genre : !texts.trim())}
          >
            Train
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}

async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function ImportStyle({ app }: { app: string }) {
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
