// Model: every base model (the default marked) with what its import measured, the imports with their live
// progress, importing a checkpoint from a server path; then the shipped base's card from its package: shape,
// LoRA limits, held-out perplexity per genre and the pretraining loss curve.
import { BarChart, LineChart } from '@mantine/charts';
import { Badge, Group, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { ChartCard, PageHeader, QueryView } from '../../components/states';
import { duration, num } from '../../lib/format';
import type { ModelCard } from '../../lib/types';
import { BasesTable } from './BasesTable';
import { ImportCheckpoint } from './ImportCheckpoint';
import { ImportsTable } from './ImportsTable';
import { useModelCard, useModels } from './useModels';

export function ModelPage() {
  const model = useModelCard();
  const models = useModels();
  return (
    <>
      <PageHeader
        title="Model"
        description="The shared base models adapters are trained against: the shipped one and those imported."
      />
      <Stack>
        <Title order={4}>Bases</Title>
        <QueryView query={models}>{(list) => <BasesTable list={list} shipped={model.data} />}</QueryView>
        <Title order={4}>Imports</Title>
        <QueryView query={models}>{(list) => <ImportsTable jobs={list.imports} />}</QueryView>
        <ImportCheckpoint />
        <Title order={4}>{model.data ? `The shipped base: ${model.data.id}` : 'The shipped base'}</Title>
        <QueryView query={model}>{(m) => <ShippedBase m={m} />}</QueryView>
      </Stack>
    </>
  );
}

function ShippedBase({ m }: { m: ModelCard }) {
  const all = m.perplexity.find((p) => p.split === 'all');
  const a = m.architecture;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Card label="Model" value={m.id} />
        <Card label="Parameters" value={`${num(m.params / 1e6, 2)} M`} />
        <Card label="Held-out perplexity" value={all ? num(all.ppl, 1) : '—'} />
        <Card
          label="Pretraining"
          value={`${num(m.training.steps)} steps · ${duration(m.training.seconds)}`}
        />
      </SimpleGrid>
      <Paper withBorder p="md">
        <Group gap="xs">
          <Badge variant="light">Llama</Badge>
          <Badge variant="light">{a.layers} layers</Badge>
          <Badge variant="light">hidden {a.hidden_size}</Badge>
          <Badge variant="light">
            {a.heads} heads / {a.kv_heads} KV heads
          </Badge>
          <Badge variant="light">vocabulary {num(a.vocab_size)}</Badge>
          <Badge variant="light">context {a.context}</Badge>
          <Badge variant="light" color="violet">
            LoRA on {m.lora.targets.join(', ')} · rank ≤ {m.lora.max_rank}
          </Badge>
          <Badge variant="light" color="gray">
            {num(m.training.tokens_seen)} tokens seen on {m.training.device}
          </Badge>
          <Badge variant="light" color="gray">
            {m.splits.train} training files · {m.splits.heldout} held out
          </Badge>
        </Group>
      </Paper>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <ChartCard
          title="Held-out perplexity by genre"
          hint="Brown corpus files the model never trained on; lower is better"
        >
          <BarChart
            h={360}
            orientation="vertical"
            data={m.perplexity
              .filter((p) => p.split !== 'all')
              .map((p) => ({
                genre: p.split.replace('_', ' '),
                Perplexity: Math.round(p.ppl * 10) / 10,
              }))}
            dataKey="genre"
            series={[{ name: 'Perplexity', color: 'violet.6' }]}
            yAxisProps={{ width: 110, interval: 0 }}
            gridAxis="y"
          />
        </ChartCard>
        <ChartCard title="Pretraining loss" hint="Cross-entropy per token, each step">
          <LineChart
            h={300}
            data={m.training.loss.map(([step, loss]) => ({ step, Loss: loss }))}
            dataKey="step"
            withDots={false}
            yAxisProps={{ domain: ['auto', 'auto'] }}
            series={[{ name: 'Loss', color: 'violet.6' }]}
          />
        </ChartCard>
      </SimpleGrid>
    </Stack>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <Paper withBorder p="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={700} fz="lg">
        {value}
      </Text>
    </Paper>
  );
}
