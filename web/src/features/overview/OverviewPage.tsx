// Overview: activity, training outcomes and serving over time, from the database (every process counts).
import { AreaChart, BarChart, DonutChart, LineChart } from '@mantine/charts';
import { Group, Paper, SegmentedControl, SimpleGrid, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ChartCard, Empty, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { bytes, num } from '../../lib/format';
import type { Overview } from '../../lib/types';
import { useCurrentApp } from '../layout/useApps';
import { activityRows, totals, trainingRows } from './series';

type Range = '24h' | '7d' | '30d';

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fz={26} fw={700} data-testid={`stat-${label}`}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

export function OverviewPage() {
  const [range, setRange] = useState<Range>('24h');
  const [app, , apps] = useCurrentApp();
  const [scope, setScope] = useState<'app' | 'all'>('all');
  const appId = scope === 'app' ? app : null;
  const query = useQuery({
    queryKey: ['overview', appId, range],
    queryFn: () => api.get<Overview>('/admin/overview', { app: appId, range }),
    refetchInterval: 15_000,
  });
  return (
    <>
      <PageHeader
        title="Overview"
        description="Per hour or day, from the generation, feedback, adapter and job rows."
        actions={
          <>
            <SegmentedControl
              aria-label="Scope"
              value={scope}
              onChange={(v) => setScope(v as 'app' | 'all')}
              data={[
                { value: 'all', label: 'All apps' },
                { value: 'app', label: apps.find((a) => a.id === app)?.name ?? 'This app', disabled: !app },
              ]}
            />
            <SegmentedControl
              aria-label="Range"
              value={range}
              onChange={(v) => setRange(v as Range)}
              data={[
                { value: '24h', label: '24 h' },
                { value: '7d', label: '7 days' },
                { value: '30d', label: '30 days' },
              ]}
            />
          </>
        }
      />
      <QueryView query={query}>{(o) => <OverviewCharts o={o} />}</QueryView>
    </>
  );
}

function OverviewCharts({ o }: { o: Overview }) {
  const t = totals(o);
  const rows = activityRows(o);
  if (t.generations + t.feedback === 0 && t.promoted + t.rejected + t.failed === 0)
    return (
      <Empty
        title="Nothing happened in this window"
        description="Generations and feedback sent to /v1 show here as they arrive."
      />
    );
  const cache = o.engine.adapter_cache;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Stat label="Generations" value={num(t.generations)} />
        <Stat
          label="Feedback"
          value={num(t.feedback)}
          hint={`${t.likes} likes · ${t.dislikes} dislikes · ${t.edits} edits`}
        />
        <Stat label="Users with an adapter" value={num(t.usersWithAdapter)} hint="active version now" />
        <Stat
          label="Decode speed"
          value={t.tokensPerSecond === null ? '—' : `${num(t.tokensPerSecond)} tok/s`}
        />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <ChartCard title="Generations and active users">
          <AreaChart
            h={220}
            data={rows}
            dataKey="t"
            withLegend
            curveType="monotone"
            series={[
              { name: 'Generations', color: 'violet.6' },
              { name: 'Active users', color: 'teal.6' },
            ]}
          />
        </ChartCard>
        <ChartCard title="Feedback">
          <BarChart
            h={220}
            data={rows}
            dataKey="t"
            type="stacked"
            withLegend
            series={[
              { name: 'Likes', color: 'teal.6' },
              { name: 'Edits', color: 'blue.6' },
              { name: 'Dislikes', color: 'red.6' },
            ]}
          />
        </ChartCard>
        <ChartCard
          title="Training cycles by outcome"
          hint={`${t.promoted} promoted · ${t.rejected} rejected · ${t.failed} failed jobs`}
        >
          <BarChart
            h={220}
            data={trainingRows(o)}
            dataKey="t"
            type="stacked"
            withLegend
            series={[
              { name: 'Promoted', color: 'teal.6' },
              { name: 'Rejected', color: 'orange.6' },
              { name: 'Failed', color: 'red.6' },
            ]}
          />
        </ChartCard>
        <ChartCard
          title="Serving"
          hint="Mean decode speed and median time to first token of each bucket's generations"
        >
          <LineChart
            h={220}
            data={rows}
            dataKey="t"
            withLegend
            connectNulls={false}
            withRightYAxis
            series={[
              { name: 'Tokens/s', color: 'violet.6' },
              { name: 'First token (ms)', color: 'gray.6', yAxisId: 'right' },
            ]}
          />
        </ChartCard>
        <ChartCard
          title="Fallbacks to the base model"
          hint={`${t.fallbacks} in this window: generations whose adapter could not be loaded`}
        >
          <Group grow align="center">
            <BarChart h={180} data={rows} dataKey="t" series={[{ name: 'Fallbacks', color: 'orange.6' }]} />
            {o.fallback_reasons.length > 0 && (
              <DonutChart
                h={160}
                withLabels
                data={o.fallback_reasons.map((r, i) => ({
                  name: r.reason,
                  value: r.count,
                  color: ['orange.6', 'red.6', 'yellow.6', 'gray.6'][i % 4] as string,
                }))}
              />
            )}
          </Group>
        </ChartCard>
        <ChartCard
          title="Adapter cache (this process)"
          hint="Each API process and Worker isolate has its own cache; this is the one that answered."
        >
          <Group grow>
            <DonutChart
              h={160}
              chartLabel={
                cache.hit_rate === null ? 'no lookups' : `${Math.round(cache.hit_rate * 100)} % hits`
              }
              data={[
                { name: 'Hits', value: cache.hits, color: 'teal.6' },
                { name: 'Misses', value: cache.misses, color: 'gray.4' },
              ]}
            />
            <Stack gap={4}>
              <Text size="sm">{num(cache.entries)} adapters cached</Text>
              <Text size="sm">
                {bytes(cache.bytes)} of {bytes(cache.max_bytes)}
              </Text>
              <Text size="sm">{o.engine.generations_active} generating now</Text>
            </Stack>
          </Group>
        </ChartCard>
      </SimpleGrid>
    </Stack>
  );
}
