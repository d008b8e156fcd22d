// Styles: app-level adapters every user's generation can mix in. Train one from texts or a Brown genre,
// import a PEFT directory (its adapter_config.json and adapter_model.safetensors), read samples of one.
import { Badge, Button, Modal, SimpleGrid, Stack } from '@mantine/core';
import { useState } from 'react';
import { type Column, DataTable } from '../../components/DataTable';
import { Empty, NeedApp, PageHeader, QueryView } from '../../components/states';
import { ago } from '../../lib/format';
import type { StyleItem } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { ImportStyle } from './ImportStyle';
import { StyleSamples } from './StyleSamples';
import { TrainStyle } from './TrainStyle';
import { useStyles } from './useStyles';

export function StylesPage() {
  const [app] = useCurrentApp();
  const styles = useStyles(app);
  const [sampling, setSampling] = useState<string | null>(null);
  if (!app) return <NeedApp />;
  const columns: Column<StyleItem>[] = [
    { header: 'Style', cell: (s) => s.style, cellProps: { fw: 600 } },
    {
      header: 'Active version',
      cell: (s) =>
        s.active_version ? (
          <Badge variant="light">{s.active_version}</Badge>
        ) : (
          <Badge color="gray">none</Badge>
        ),
    },
    { header: 'Versions', align: 'right', cell: (s) => s.versions },
    { header: 'Last trained', cell: (s) => ago(s.updated_at) },
    {
      align: 'right',
      cell: (s) => (
        <Button size="xs" variant="subtle" disabled={!s.active_version} onClick={() => setSampling(s.style)}>
          Samples
        </Button>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title="Styles"
        description="App-level adapters mixed into generations with a weight: a genre, a voice, a house style."
      />
      <Stack>
        <QueryView query={styles}>
          {({ items }) => (
            <DataTable
              columns={columns}
              rows={items}
              rowKey={(s) => s.style}
              minWidth={480}
              empty={
                <Empty
                  title="No styles yet"
                  description="Train one from a Brown genre or your own texts below, or import a PEFT adapter."
                />
              }
            />
          )}
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
        {sampling && <StyleSamples app={app} style={sampling} />}
      </Modal>
    </>
  );
}
